#!/usr/bin/env node
/**
 * The `gatepass` executable: thin on purpose. A plain `gatepass token` with a cached token is served
 * by the fast path (fast-token.ts: no commander, no YAML, bundled into this one file by
 * scripts/build.mjs); everything else — and anything the fast path cannot serve — runs the full CLI
 * (full.ts), whose modules are imported only then; a token that needs refreshing is served by the
 * refresh fast path (fast-refresh.ts) when it can, and `gatepass proxy start` by the lean proxy entry
 * (fast-proxy.ts) when it can. The single executable's entry is sea-main.ts.
 */
import { createRequire } from 'node:module';
import { serveFastToken } from './fast-entry.js';
import { planLeanProxy } from './fast-proxy-plan.js';

const argv = process.argv.slice(2);
// A cached OIDC token missing or too old: the refresh fast path (fast-refresh.ts, dist/refresh.js).
const refresh = async (args: string[]) => (await import('./fast-refresh.js')).serveRefresh(args);
// `gatepass proxy start` with a fresh config snapshot: the lean proxy entry, fast-proxy.ts bundled
// as CommonJS into dist/proxy.cjs (scripts/build.mjs says why), loaded with require(): an import()
// of CommonJS would run the ES module loader's export scanner (WebAssembly) in the long-lived proxy.
const lean = async () => {
  const plan = argv.includes('proxy') ? planLeanProxy(argv, process.env, process.argv[1]) : undefined;
  if (!plan) return false;
  const entry = createRequire(import.meta.url)('./proxy.cjs') as typeof import('./fast-proxy.js');
  return entry.serveProxyStart(plan);
};
const served = (await serveFastToken(argv, refresh)) || (await lean());
if (!served) await (await import('./full.js')).runFullCli(argv);
