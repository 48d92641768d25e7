#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Bundle gatepass with esbuild: one small CommonJS entry (dist/cli.cjs, the package's bin) plus lazily
// loaded ES module chunks, so `gatepass token` parses only the code it runs. Native and asset-carrying packages stay external.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { fastPathOnly, refreshOnly } from './fast-path-plugin.mjs';

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
 * dist/cli.cjs, the executable: the `gatepass token` fast path in ONE self-contained CommonJS file.
 * CommonJS because Node's ES module loader costs a fresh process ≈ 5 ms of CPU before any code runs
 * (an empty .mjs against an empty .cjs); each ES module would also cost a resolve/read/compile/link.
 * It hands over to the ES modules dist/full.js (the full CLI) and dist/refresh.js with `import()`,
 * so the ES module loader starts only then (fast-path-plugin.mjs).
 */
await build({
  ...common,
  format: 'cjs',
  entryPoints: { cli: 'src/cli/main.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  splitting: false,
  external,
  // createRequire(import.meta.url) (the keychain addon) needs the file's URL; node:url costs nothing
  // measurable (its internals are loaded at start-up). "use strict" first, as the ES modules are.
  define: { ...common.define, 'import.meta.url': '__gpMetaUrl' },
  banner: { js: '"use strict";\nvar __gpMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [fastPathOnly(external)],
});
const cliSize = statSync(`${root}dist/cli.cjs`).size;
// 80 KiB: the fast path's own code (config snapshot and its trust check with the managed layer's
// sources, stores, the default store's access-token cache, the token sources' steps, the keychain's
// chunked reads, the environment check: about 75 KB) without any heavy dependency; a library slipping
// in costs far more (openid-client alone is several times this).
if (cliSize > 80 * 1024) {
  console.error(`dist/cli.cjs is ${cliSize} bytes: something heavy slipped into the token fast path`);
  process.exit(1);
}
/**
 * dist/cli.js: what the bin was before dist/cli.cjs, kept for installs whose launcher
 * (`<data>/bin/gatepass`) or tool configuration still names it, and for `node dist/cli.js` from a
 * clone. It runs dist/cli.cjs as if started directly (process.argv[1] names it), so a `setup` or
 * `proxy start --background` run through it records dist/cli.cjs.
 */
writeFileSync(
  `${root}dist/cli.js`,
  `#!/usr/bin/env node
// gatepass' executable is dist/cli.cjs; this file keeps older launchers and tool settings working.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

process.argv[1] = fileURLToPath(new URL('./cli.cjs', import.meta.url));
createRequire(import.meta.url)(process.argv[1]);
`,
  { mode: 0o755 },
);

/**
 * dist/refresh.js: the refresh fast path (src/cli/fast-refresh.ts), loaded by dist/cli.cjs when the
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
