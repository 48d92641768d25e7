#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Bundle gatepass with esbuild: one small entry (dist/cli.cjs, build-fast-path.mjs) plus lazily loaded
// chunks, so `gatepass token` parses only the code it runs. Native and asset-carrying packages stay external.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { buildFastPath } from './build-fast-path.mjs';
import { refreshOnly } from './fast-path-plugin.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const root = new URL('..', import.meta.url).pathname;
const withTypes = !process.argv.includes('--no-types');

// Start from a clean dist/, except dist/sea (the single executable, scripts/build-sea.mjs): its own
// build replaces it, and `npm test` rebuilding dist/ must not throw away a binary the tests run.
const dist = `${root}dist`;
for (const name of existsSync(dist) ? readdirSync(dist) : []) {
  if (name !== 'sea') rmSync(`${dist}/${name}`, { recursive: true, force: true });
}

export const external = [
  '@napi-rs/keyring', // native addon, resolved at run time
  'open', // ships its own xdg-open script next to its module
];

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  // Prefer ESM entry points: some packages (jsonc-parser) ship a UMD `main` esbuild cannot follow.
  mainFields: ['module', 'main'],
  target: 'node20.19',
  minifySyntax: true,
  legalComments: 'none',
  sourcemap: false,
  define: { __GATEPASS_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

// The full CLI and the library: lazily loaded chunks.
await build({
  ...common,
  entryPoints: { full: 'src/cli/full.ts', index: 'src/index.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  external,
});

/**
 * dist/refresh.js: the refresh fast path (src/cli/fast-refresh.ts), loaded by dist/fast.js when the
 * cached OIDC token must be refreshed — one file as well: the token source, openid-client, the
 * config writer, without commander.
 */
await build({
  ...common,
  entryPoints: { refresh: 'src/cli/fast-refresh.ts' },
  outdir: 'dist',
  splitting: false,
  external,
  plugins: [refreshOnly(external)],
});

/**
 * dist/proxy.cjs: the lean `gatepass proxy start` entry (src/cli/fast-proxy.ts), required by the
 * bin (dist/fast.js, main.ts) once its checks (fast-proxy-plan.ts) pass. What the proxy that stays
 * running holds is what this file loads, so (issue 19, bench/README.md "idle memory"):
 * - one file, not ~40 ES module chunks: each module costs the loader, and that many make V8 compile
 *   the loader's own functions with TurboFan (~3.5 MiB more resident node binary and code);
 * - CommonJS, with the npm packages left to run time: a `require()` inside lazily evaluated code is
 *   lazy, so what only rare paths need (openid-client for a login or refresh, yaml for a config
 *   write, undici for the node engine or an egress proxy) loads only then — an ES module bundle
 *   would hoist those imports and load them all at start, or inline them (2.5 MB of source held
 *   in memory);
 * - ASCII-only and without whitespace: V8 keeps the source of a script for lazy compilation, as a
 *   two-byte string if one character needs it.
 */
await build({
  ...common,
  entryPoints: { proxy: 'src/cli/fast-proxy.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  format: 'cjs',
  splitting: false,
  packages: 'external',
  charset: 'ascii',
  minifyWhitespace: true,
  define: { ...common.define, 'import.meta.url': '__gpImportMetaUrl' },
  banner: { js: "const __gpImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// dist/cli.cjs (the bin), dist/fast.js and its code cache, the dist/cli.js shim: the `gatepass
// token` fast path, handing over to dist/full.js otherwise (build-fast-path.mjs).
await buildFastPath({ common, external, root });

if (withTypes) {
  const tsc = spawnSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}
