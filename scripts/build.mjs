#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Bundle gatepass with esbuild: one small entry (dist/cli.js) plus lazily loaded chunks, so
// `gatepass token` parses only the code it runs. Native and asset-carrying packages stay external.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const root = new URL('..', import.meta.url).pathname;
const withTypes = !process.argv.includes('--no-types');

rmSync(`${root}dist`, { recursive: true, force: true });

export const external = [
  '@napi-rs/keyring', // native addon, resolved at run time
  'open', // ships its own xdg-open script next to its module
];

await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // Prefer ESM entry points: some packages (jsonc-parser) ship a UMD `main` esbuild cannot follow.
  mainFields: ['module', 'main'],
  target: 'node20.19',
  chunkNames: 'chunks/[name]-[hash]',
  external,
  minifySyntax: true,
  legalComments: 'none',
  sourcemap: false,
  define: { __GATEPASS_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

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
