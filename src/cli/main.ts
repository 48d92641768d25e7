#!/usr/bin/env node
/**
 * The `gatepass` executable (bundled by scripts/build-fast-path.mjs into dist/fast.js, which the bin
 * dist/cli.cjs runs from a code cache; CommonJS: Node's ES module loader alone costs ≈ 5 ms of CPU
 * per start, so it starts only when the full CLI runs).
 * Thin on purpose: a plain `gatepass token` with a cached token is served by the fast path
 * (fast-token.ts: no commander, no YAML, bundled into this one file); everything else — and anything
 * the fast path cannot serve — runs the full CLI (full.ts, the ES module dist/full.js), imported only
 * then; a token that needs refreshing is served by the refresh fast path (fast-refresh.ts) when it
 * can, and `gatepass proxy start` by the lean proxy entry (fast-proxy.ts) when it can. The single
 * executable's entry is sea-main.ts.
 */
import { builtin } from '../util/builtin.js';
import { serveFastToken } from './fast-entry.js';
import { planLeanProxy } from './fast-proxy-plan.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // A cached OIDC token missing or too old: the refresh fast path (fast-refresh.ts, dist/refresh.js).
  const refresh = async (args: string[]) => (await import('./fast-refresh.js')).serveRefresh(args);
  // `gatepass proxy start` with a fresh config snapshot: the lean proxy entry, fast-proxy.ts bundled
  // as CommonJS into dist/proxy.cjs (scripts/build.mjs says why), loaded with require(): an import()
  // of CommonJS would run the ES module loader's export scanner (WebAssembly) in the long-lived proxy.
  const lean = async () => {
    const plan = argv.includes('proxy') ? planLeanProxy(argv, process.env, process.argv[1]) : undefined;
    if (!plan) return false;
    // node:module only now: a cached token does not load it (util/builtin.ts).
    const { createRequire } = builtin('node:module');
    const entry = createRequire(import.meta.url)('./proxy.cjs') as typeof import('./fast-proxy.js');
    return entry.serveProxyStart(plan);
  };
  const served = (await serveFastToken(argv, refresh)) || (await lean());
  if (!served) await (await import('./full.js')).runFullCli(argv);
}

void main();
