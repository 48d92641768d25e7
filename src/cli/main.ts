#!/usr/bin/env node
/**
 * The `gatepass` executable (bundled by scripts/build-fast-path.mjs into dist/fast.js, which the bin
 * dist/cli.cjs runs from a code cache; CommonJS: Node's ES module loader alone costs ≈ 5 ms of CPU
 * per start, so it starts only when the full CLI runs).
 * Thin on purpose: a plain `gatepass token` with a cached token is served by the fast path
 * (fast-token.ts: no commander, no YAML, bundled into this one file); everything else — and anything
 * the fast path cannot serve — runs the full CLI (full.ts, the ES module dist/full.js), imported only
 * then; a token that needs refreshing is served by the refresh fast path (fast-refresh.ts) when it
 * can. The single executable's entry is sea-main.ts.
 */
import { serveFastToken } from './fast-entry.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // A cached OIDC token missing or too old: the refresh fast path (fast-refresh.ts, dist/refresh.js).
  const refresh = async (args: string[]) => (await import('./fast-refresh.js')).serveRefresh(args);
  if (!(await serveFastToken(argv, refresh))) await (await import('./full.js')).runFullCli(argv);
}

void main();
