#!/usr/bin/env node
/**
 * The `gatepass` executable: thin on purpose. A plain `gatepass token` with a cached token is served
 * by the fast path (fast-token.ts: no commander, no YAML, bundled into this one file by
 * scripts/build.mjs); everything else — and anything the fast path cannot serve — runs the full CLI
 * (full.ts), whose modules are imported only then. The single executable's entry is sea-main.ts.
 */
import { serveFastToken } from './fast-entry.js';

const argv = process.argv.slice(2);
if (!(await serveFastToken(argv))) await (await import('./full.js')).runFullCli(argv);
