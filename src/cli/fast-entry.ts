/**
 * The first thing both executables do (main.ts for the npm bin, dist/cli.cjs; sea-main.ts runs this
 * module as the single executable's `fast.js` asset): try the `gatepass token` fast path
 * (fast-token.ts) and print its answer.
 */
import { writeSync } from 'node:fs';
import { type FastTokenMiss, fastToken } from './fast-token.js';

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
}

/**
 * Write to fd 1 directly: creating `process.stdout` costs ~5 ms of CPU. A reader that went away
 * (EPIPE) ends the run quietly, as in the full CLI; anything else (a non-blocking pipe that is full)
 * goes through process.stdout after all.
 */
export function writeStdout(text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
    process.stdout.on('error', onStdoutError);
    process.stdout.write(buf.subarray(off));
  }
}

/**
 * Serve `argv` from the fast path when it can; true when it did (the answer is printed), false when
 * the full CLI must run. GATEPASS_TOKEN_FAST_PATH=0 turns the fast path off (diagnostics, and the
 * tests comparing both paths). `refresh`: what serves a plain `gatepass token` whose cached OIDC
 * token is missing or too old (fast-refresh.ts, loaded only then), when given.
 */
export async function serveFastToken(
  argv: string[],
  refresh?: (argv: string[]) => Promise<boolean>,
): Promise<boolean> {
  if (/^(0|false|no)$/i.test(process.env['GATEPASS_TOKEN_FAST_PATH'] ?? '')) return false;
  const miss: FastTokenMiss = {};
  const out = argv.includes('token') ? await fastToken(argv, process.env, Date.now, miss) : undefined;
  if (!out) return miss.refresh && refresh ? refresh(argv) : false;
  if (out.stderr) process.stderr.write(out.stderr);
  writeStdout(out.stdout);
  return true;
}
