#!/usr/bin/env node
/**
 * The `gatepass` executable: thin on purpose. A plain `gatepass token` with a cached token is served
 * by the fast path (fast-token.ts: no commander, no YAML, bundled into this one file by
 * scripts/build.mjs); everything else — and anything the fast path cannot serve — runs the full CLI
 * (full.ts), whose modules are imported only then.
 */
import { fastToken } from './fast-token.js';

const argv = process.argv.slice(2);
// GATEPASS_TOKEN_FAST_PATH=0 turns the fast path off (diagnostics, and the tests comparing both paths).
const fast = !/^(0|false|no)$/i.test(process.env['GATEPASS_TOKEN_FAST_PATH'] ?? '');
const out = fast && argv.includes('token') ? await fastToken(argv, process.env) : undefined;
if (out) {
  if (out.stderr) process.stderr.write(out.stderr);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.stdout.write(out.stdout);
} else {
  await (await import('./full.js')).runFullCli(argv);
}
