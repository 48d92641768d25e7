/**
 * The single executable's entry (a Node SEA main, built by scripts/build-sea.mjs into one CommonJS
 * file — Node 20's SEA main cannot be an ES module), kept tiny: everything it runs is a SEA asset
 * with a V8 code cache the build made for it, so nothing is compiled at start-up.
 * - `fast.js`: the token fast path (fast-entry.ts); its cache `fast.cache` was made after the build
 *   ran two cache hits, so the functions a cached token runs are in it compiled (the SEA's own
 *   `useCodeCache` holds the top level only). A plain `gatepass token` with a cached token is
 *   served by it, as in main.ts;
 * - `full.js`: anything else runs the full CLI (full.ts), with `full.cache`.
 * Each asset is a CommonJS module body wrapped in a function; `require` is this main's (built-in
 * modules only: the assets bundle everything else).
 */
import path from 'node:path';
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';

type FastPath = { serveFastToken(argv: string[]): Promise<boolean> };
type FullCli = { runFullCli(argv: string[]): Promise<void> };

function runAsset<T>(name: 'fast' | 'full'): T {
  const script = new Script(getAsset(`${name}.js`, 'utf8'), {
    filename: `gatepass-${name}.js`,
    cachedData: Buffer.from(getAsset(`${name}.cache`)),
  });
  if (script.cachedDataRejected && /^(1|true|yes|on)$/i.test(process.env['GATEPASS_VERBOSE']?.trim() ?? '')) {
    process.stderr.write(
      `gatepass: debug: the code cache was rejected for ${name}.js (V8 flags differ from the build)\n`,
    );
  }
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper(module.exports, require, module, process.execPath, path.dirname(process.execPath));
  return module.exports;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (!(await runAsset<FastPath>('fast').serveFastToken(argv)))
    await runAsset<FullCli>('full').runFullCli(argv);
}

void main();
