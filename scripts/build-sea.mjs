#!/usr/bin/env node
/**
 * `npm run build:sea`: gatepass as ONE executable that needs no Node installed — a Node single
 * executable application (SEA) made from the Node running this script — in dist/sea/:
 *
 *   gatepass-<platform>-<arch>[.exe]  the binary
 *   gatepass-keyring.node             @napi-rs/keyring's native binding for this platform, loaded
 *                                     with process.dlopen from beside the binary (never extracted)
 *
 * Inside the binary (src/cli/sea-main.ts): the SEA main, a few lines of CommonJS compiled with a
 * code cache (`useCodeCache`), runs two SEA assets, each a CommonJS body wrapped in a function with
 * its own V8 code cache made here by the same Node: the token fast path (`fast.js`; `fast.cache` made
 * after serving two cached tokens, so what a cache hit runs is in it compiled) and the full CLI
 * (`full.js`, `full.cache`). postject (npm)
 * injects the blob. `--release` refuses a Node that is not a supported LTS: a release embeds it.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { fastPathOnly, leanBuiltinInterop, warmUpEnv } from './fast-path-plugin.mjs';

const started = Date.now();
const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const { platform, arch } = process;
const outDir = path.join(root, 'dist/sea');
const binary = path.join(outDir, `gatepass-${platform}-${arch}${platform === 'win32' ? '.exe' : ''}`);
const ADDON = 'gatepass-keyring.node'; // src/util/sea.ts' SEA_KEYRING_ADDON
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** End of life of the Node LTS lines (nodejs.org/en/about/previous-releases). */
const LTS_END_OF_LIFE = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  const eol = LTS_END_OF_LIFE[major];
  const supported = major % 2 === 0 && (eol ? Date.parse(eol) > Date.now() : major > 26);
  if (supported) return;
  const why = eol ? `reached end of life on ${eol}` : 'is not a long-term-support line';
  if (process.argv.includes('--release')) {
    console.error(`build-sea: Node ${process.version} ${why}; a release must embed a supported Node LTS`);
    process.exit(1);
  }
  console.error(
    `build-sea: warning: Node ${process.version} ${why} (fine for a test build, not for a release)`,
  );
}

/** The platform's keyring binding: the file @napi-rs/keyring's index.js would load. */
function keyringAddon() {
  const triple = { linux: `linux-${arch}-gnu`, win32: `win32-${arch}-msvc`, darwin: `darwin-${arch}` }[
    platform
  ];
  const dir = path.dirname(require.resolve(`@napi-rs/keyring-${triple}/package.json`));
  const file = readdirSync(dir).find((f) => f.endsWith('.node'));
  if (!file) throw new Error(`no .node file in ${dir}`);
  return path.join(dir, file);
}

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  mainFields: ['module', 'main'],
  target: `node${process.versions.node}`,
  minifySyntax: true,
  legalComments: 'none',
  write: false,
  // Every import() becomes a require(): the full CLI runs as a plain script, without a module loader.
  supported: { 'dynamic-import': false },
  define: {
    __GATEPASS_VERSION__: JSON.stringify(pkg.version),
    __GATEPASS_SEA__: 'true',
    'import.meta.url': '__gpMeta.url',
  },
  // import.meta.url computed when asked: pathToFileURL at start-up costs a cached token ≈ 0.5 ms.
  banner: {
    js: 'var __gpMeta = { get url() { return require("node:url").pathToFileURL(process.execPath).href; } };',
  },
  // Only reached outside the SEA (src/util/sea.ts): the SEA loads the binding with process.dlopen.
  external: ['@napi-rs/keyring'],
  logLevel: 'warning',
};

function exec(file, args, options = {}) {
  const r = spawnSync(file, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${args[0]} failed`);
}
// Node for the code cache and the blob, without NODE_OPTIONS: V8 rejects a code cache made under
// other flags than the binary runs with (it then just compiles, a little slower).
const nodeEnv = { ...process.env };
delete nodeEnv.NODE_OPTIONS;

async function bundle(options) {
  const result = await build({ ...common, ...options });
  return result.outputFiles[0].text;
}

/**
 * fast.cache: in a throw-away HOME configured by the full CLI (full.js, run by this Node as the binary
 * would), run the fast path (fast.js) for a cached token from the file store and from the default
 * store's cache file, then save its code cache with every function those runs compiled. The build
 * fails if either run does not print the token.
 */
function warmCodeCache(work) {
  const home = mkdtempSync(path.join(tmpdir(), 'gatepass-sea-home-'));
  const script = `
    const fs = require('node:fs');
    const path = require('node:path');
    const { Script } = require('node:vm');
    const [work, home, snapshot, ...tokenDirs] = process.argv.slice(1);
    function load(name) {
      const script = new Script(fs.readFileSync(path.join(work, name + '.js'), 'utf8'), { filename: 'gatepass-' + name + '.js' });
      const module = { exports: {} };
      script.runInThisContext()(module.exports, require, module, process.execPath, path.dirname(process.execPath));
      return { script, exports: module.exports };
    }
    (async () => {
      await load('full').exports.runFullCli(['config', 'set', '--gateway-url', 'https://llm.example.com',
        '--issuer', 'https://sso.example.com', '--client-id', 'gatepass']);
      if (process.exitCode) throw new Error('config set failed');
      const key = JSON.parse(fs.readFileSync(snapshot, 'utf8')).secret_keys.default;
      const record = JSON.stringify({ access_token: 'build-warm-up', expires_at: 4102444800 });
      for (const dir of tokenDirs) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(dir, key + '_AT'), record, { mode: 0o600 });
      }
      const fast = load('fast');
      for (const store of [{ GATEPASS_SECRET_STORE: 'file' }, { GATEPASS_SECRET_STORE: '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=' + home + '/no-bus' }]) {
        Object.assign(process.env, store);
        if (!(await fast.exports.serveFastToken(['token']))) throw new Error('the fast path did not serve');
      }
      fs.writeFileSync(path.join(work, 'fast.cache'), fast.script.createCachedData());
    })().catch((err) => {
      console.error(err);
      process.exit(1);
    });`;
  try {
    const { env, snapshot, tokenDirs } = warmUpEnv(home);
    const r = spawnSync(process.execPath, ['-e', script, work, home, snapshot, ...tokenDirs], {
      cwd: work,
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0 || !r.stdout.endsWith('build-warm-up\nbuild-warm-up\n')) {
      throw new Error(`fast.cache warm-up failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

checkNode();
const work = mkdtempSync(path.join(tmpdir(), 'gatepass-sea-'));
try {
  // The SEA main (sea-main.ts): a few lines running the two assets below from their code caches.
  const main = await bundle({ entryPoints: ['src/cli/sea-main.ts'] });
  // The token fast path (fast-entry.ts) and the full CLI, each as the body of a CommonJS module
  // function (sea-main.ts' runAsset calls it).
  const wrap = (body) => `(function (exports, require, module, __filename, __dirname) {${body}\n})`;
  const fast = wrap(
    leanBuiltinInterop(await bundle({ entryPoints: ['src/cli/fast-entry.ts'], plugins: [fastPathOnly([])] })),
  );
  const full = wrap(await bundle({ entryPoints: ['src/cli/full.ts'] }));
  for (const [name, text] of [
    ['main.cjs', main],
    ['fast.js', fast],
    ['full.js', full],
  ]) {
    for (const [, id] of text.matchAll(/\brequire\("([^"]+)"\)/g)) {
      if (id.startsWith('node:') || builtinModules.includes(id) || common.external.includes(id)) continue;
      throw new Error(`${name} requires "${id}" at run time: the binary has only built-in modules`);
    }
    writeFileSync(path.join(work, name), text);
  }
  // The code caches, made by this same Node (the one the binary embeds): the full CLI's top level;
  // the fast path's after it served two cached tokens (warmCodeCache).
  const cacheScript = `
    const { Script } = require('node:vm');
    const fs = require('node:fs');
    const src = fs.readFileSync(process.argv[1], 'utf8');
    fs.writeFileSync(process.argv[2], new Script(src, { filename: 'gatepass-full.js' }).createCachedData());`;
  const node = (args) => exec(process.execPath, args, { cwd: work, env: nodeEnv });
  node(['-e', cacheScript, path.join(work, 'full.js'), path.join(work, 'full.cache')]);
  warmCodeCache(work);

  writeFileSync(
    path.join(work, 'sea-config.json'),
    JSON.stringify({
      main: 'main.cjs',
      output: 'sea-prep.blob',
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: {
        'fast.js': 'fast.js',
        'fast.cache': 'fast.cache',
        'full.js': 'full.js',
        'full.cache': 'full.cache',
      },
    }),
  );
  node(['--experimental-sea-config', 'sea-config.json']);

  const staged = path.join(work, path.basename(binary));
  copyFileSync(process.execPath, staged);
  chmodSync(staged, 0o755);
  // macOS: node's signature must go before the blob goes in, and arm64 runs only signed code: an
  // ad-hoc signature after (a release signs again with a Developer ID; README "Install").
  if (platform === 'darwin') exec('codesign', ['--remove-signature', staged]);
  // On Linux, postject's ELF library prints harmless "Can't find string offset for section name" lines.
  const { inject } = require('postject');
  await inject(staged, 'NODE_SEA_BLOB', readFileSync(path.join(work, 'sea-prep.blob')), {
    sentinelFuse: SEA_FUSE,
    ...(platform === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  if (platform === 'darwin') exec('codesign', ['--sign', '-', staged]);
  // Only a complete build replaces the previous one.
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  copyFileSync(keyringAddon(), path.join(outDir, ADDON));
  copyFileSync(staged, binary);
  chmodSync(binary, 0o755);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const mb = (statSync(binary).size / 1e6).toFixed(1);
console.error(
  `build-sea: ${path.relative(root, binary)} (${mb} MB, Node ${process.version}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
