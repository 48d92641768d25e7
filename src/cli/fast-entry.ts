/**
 * The first thing both executables do (main.ts for dist/cli.js, sea-main.ts for the single
 * executable): try the `gatepass token` fast path (fast-token.ts) and print its answer.
 */
import { writeSync } from 'node:fs';
import { fastToken } from './fast-token.js';

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
}

/**
 * Write to fd 1 directly: creating `process.stdout` costs ~5 ms of CPU. A reader that went away
 * (EPIPE) ends the run quietly, as in the full CLI; anything else (a non-blocking pipe that is full)
 * goes through process.stdout after all.
 */
function writeStdout(text: string): void {
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
 * tests comparing both paths).
 */
export async function serveFastToken(argv: string[]): Promise<boolean> {
  if (/^(0|false|no)$/i.test(process.env['GATEPASS_TOKEN_FAST_PATH'] ?? '')) return false;
  const out = argv.includes('token') ? await fastToken(argv, process.env) : undefined;
  if (!out) return false;
  if (out.stderr) process.stderr.write(out.stderr);
  writeStdout(out.stdout);
  return true;
}
