#!/usr/bin/env node
/**
 * The `gatepass` executable: thin on purpose. A plain `gatepass token` with a cached token is served
 * by the fast path (fast-token.ts: no commander, no YAML, bundled into this one file by
 * scripts/build.mjs); everything else — and anything the fast path cannot serve — runs the full CLI
 * (full.ts), whose modules are imported only then; a token that needs refreshing is served by the
 * refresh fast path (fast-refresh.ts) when it can. The single executable's entry is sea-main.ts.
 */
import { serveFastToken } from './fast-entry.js';

const argv = process.argv.slice(2);
// A cached OIDC token missing or too old: the refresh fast path (fast-refresh.ts, dist/refresh.js).
const refresh = async (args: string[]) => (await import('./fast-refresh.js')).serveRefresh(args);
if (!(await serveFastToken(argv, refresh))) await (await import('./full.js')).runFullCli(argv);
