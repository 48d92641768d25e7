/**
 * The single executable's entry (a Node SEA main, built by scripts/build-sea.mjs into one CommonJS
 * file — Node 20's SEA main cannot be an ES module). A plain `gatepass token` with a cached token is
 * served by the fast path, as in main.ts; anything else runs the full CLI, which the binary carries
 * as a SEA asset: `full.js` (full.ts bundled as CommonJS, wrapped in a function) with `full.cache`,
 * the V8 code cache the build made for it, so the full CLI starts without compiling its top level.
 */
import path from 'node:path';
import { serveFastToken } from './fast-entry.js';

type FullCli = { runFullCli(argv: string[]): Promise<void> };

function loadFullCli(): FullCli {
  // Loaded here, not imported: a cached token needs neither node:sea nor node:vm.
  const { getAsset } = process.getBuiltinModule('node:sea');
  const { Script } = process.getBuiltinModule('node:vm');
  const source = getAsset('full.js', 'utf8');
  const cache = Buffer.from(getAsset('full.cache'));
  const script = new Script(source, { filename: 'gatepass-full.js', cachedData: cache });
  if (script.cachedDataRejected && /^(1|true|yes|on)$/i.test(process.env['GATEPASS_VERBOSE']?.trim() ?? '')) {
    process.stderr.write('gatepass: debug: the code cache was rejected (V8 flags differ from the build)\n');
  }
  const module = { exports: {} as FullCli };
  // The SEA main's require (built-in modules only): the full CLI bundles everything else.
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper(module.exports, require, module, process.execPath, path.dirname(process.execPath));
  return module.exports;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (!(await serveFastToken(argv))) await loadFullCli().runFullCli(argv);
}

void main();
