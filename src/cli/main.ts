#!/usr/bin/env node
/**
 * The `gatepass` executable: thin on purpose. A plain `gatepass token` with a cached token is served
 * by the fast path (fast-token.ts: no commander, no YAML, bundled into this one file by
 * scripts/build.mjs); everything else — and anything the fast path cannot serve — runs the full CLI
 * (full.ts), whose modules are imported only then.
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

const argv = process.argv.slice(2);
// GATEPASS_TOKEN_FAST_PATH=0 turns the fast path off (diagnostics, and the tests comparing both paths).
const fast = !/^(0|false|no)$/i.test(process.env['GATEPASS_TOKEN_FAST_PATH'] ?? '');
const out = fast && argv.includes('token') ? await fastToken(argv, process.env) : undefined;
if (out) {
  if (out.stderr) process.stderr.write(out.stderr);
  writeStdout(out.stdout);
} else {
  await (await import('./full.js')).runFullCli(argv);
}
