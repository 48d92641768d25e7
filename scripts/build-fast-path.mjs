/**
 * The npm package's executable, built by build.mjs (after dist/full.js and dist/refresh.js):
 *
 *   dist/cli.cjs    the bin: a few lines of CommonJS that run dist/fast.js from its code cache
 *   dist/fast.js    the `gatepass token` fast path (src/cli/main.ts) in ONE self-contained file, as the
 *                   body of a CommonJS module function (not a module: dist/cli.cjs compiles it)
 *   dist/fast.cache its V8 code cache, made here by running two cache hits (file store, default
 *                   store) in a throw-away directory, so the functions a cache hit runs are in it compiled
 *   dist/cli.js     the bin before dist/cli.cjs, kept as a shim for launchers and tool settings
 *                   that still name it
 *
 * Why: in a fresh process Node's ES module loader costs ≈ 5 ms of CPU before any code runs (an empty
 * .mjs against an empty .cjs), and compiling the fast path ≈ 4 ms more; a cached token is ≈ 80 ms of
 * `node -e 0` plus what gatepass adds. Node 20 has no compile cache for modules
 * (`module.enableCompileCache` is Node ≥ 22.1), so dist/cli.cjs keeps one of its own, made by the
 * build's Node: another Node (or other V8 flags) rejects it and simply compiles, as without it. The
 * full CLI and the refresh fast path stay ES modules, reached with `import()` (the ES module loader
 * then starts) through the bin's own `import`, handed in as `__gpImport`: a script compiled from a
 * code cache loses Node's dynamic-import callback.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { fastPathOnly, leanBuiltinInterop, warmUpEnv } from './fast-path-plugin.mjs';

/** The bin. Kept tiny: Node compiles it without a cache on every start. */
const BIN = `#!/usr/bin/env node
// gatepass' executable (scripts/build-fast-path.mjs): the token fast path from its code cache.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const file = join(__dirname, 'fast.js');
let cachedData;
try {
  cachedData = readFileSync(join(__dirname, 'fast.cache'));
} catch {
  // no cache: compile
}
const script = new Script(readFileSync(file, 'utf8'), { filename: file, cachedData });
script.runInThisContext()(exports, require, module, __filename, __dirname, (id) => import(id));
`;

const SHIM = `#!/usr/bin/env node
// gatepass' executable is dist/cli.cjs; this file keeps older launchers and tool settings working.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

process.argv[1] = fileURLToPath(new URL('./cli.cjs', import.meta.url));
createRequire(import.meta.url)(process.argv[1]);
`;

// 80 KiB: the fast path's own code (config snapshot and its trust check with the managed layer's
// sources, stores, the default store's access-token cache, the token sources' steps, the keychain's
// chunked reads, the environment check: about 75 KB) without any heavy dependency; a library slipping
// in costs far more (openid-client alone is several times this).
const MAX_FAST_PATH_BYTES = 80 * 1024;

/** The dynamic imports the fast path may make (hand-overs and built-ins), routed to __gpImport. */
const DYNAMIC_IMPORT = /\bimport\((?="(?:\.\/full\.js|\.\/refresh\.js|node:[a-z_/]+)"\))/g;

export async function buildFastPath({ common, external, root }) {
  const dist = path.join(root, 'dist');
  const result = await build({
    ...common,
    format: 'cjs',
    entryPoints: ['src/cli/main.ts'],
    write: false,
    outfile: 'dist/fast.js',
    splitting: false,
    external,
    // createRequire(import.meta.url) (the keychain addon) needs the file's URL: computed when asked
    // (pathToFileURL at start-up is ≈ 0.5 ms a cache hit does not need). Strict, as ES modules are.
    define: { ...common.define, 'import.meta.url': '__gpMeta.url' },
    banner: {
      js: '"use strict";\nvar __gpMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
    },
    plugins: [fastPathOnly(external)],
  });
  const code = leanBuiltinInterop(result.outputFiles[0].text.replace(/^#!.*\n/, '')).replace(
    DYNAMIC_IMPORT,
    '__gpImport(',
  );
  const stray = /\bimport\(/.exec(code);
  if (stray)
    throw new Error(
      `dist/fast.js: an import() the bin cannot serve: ${code.slice(stray.index, stray.index + 60)}`,
    );
  const body = `(function (exports, require, module, __filename, __dirname, __gpImport) {${code}\n})`;
  if (body.length > MAX_FAST_PATH_BYTES) {
    throw new Error(`dist/fast.js is ${body.length} bytes: something heavy slipped into the token fast path`);
  }
  writeFileSync(path.join(dist, 'fast.js'), body);
  writeFileSync(path.join(dist, 'cli.cjs'), BIN, { mode: 0o755 });
  writeFileSync(path.join(dist, 'cli.js'), SHIM, { mode: 0o755 });
  writeCodeCache(dist);
}

/**
 * dist/fast.cache: compile dist/fast.js, run it for a cached token from the file store and from the
 * default store's cache file in a throw-away directory (warmUpEnv; configured by the built CLI
 * itself, so the config snapshot is the real one), then save the code cache with every function
 * those runs compiled. Without NODE_OPTIONS: V8 rejects a cache made under other flags.
 */
function writeCodeCache(dist) {
  const home = mkdtempSync(path.join(tmpdir(), 'gatepass-build-'));
  try {
    const { env, snapshot, tokenDirs } = warmUpEnv(home);
    const node = (args, extra = {}) => {
      const r = spawnSync(process.execPath, args, { env: { ...env, ...extra }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`code cache: node ${args[0]} failed: ${r.stderr}`);
      return r.stdout;
    };
    node([
      path.join(dist, 'cli.cjs'),
      'config',
      'set',
      '--gateway-url',
      'https://llm.example.com',
      '--issuer',
      'https://sso.example.com',
      '--client-id',
      'gatepass',
    ]);
    const key = JSON.parse(readFileSync(snapshot, 'utf8')).secret_keys.default;
    const record = JSON.stringify({ access_token: 'build-warm-up', expires_at: 4102444800 });
    for (const dir of tokenDirs) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(dir, `${key}_AT`), record, { mode: 0o600 });
    }
    const warm = `
      const { readFileSync, writeFileSync } = require('node:fs');
      const { Script } = require('node:vm');
      const [file, out, home] = process.argv.slice(1);
      const script = new Script(readFileSync(file, 'utf8'), { filename: file });
      const fast = script.runInThisContext();
      const stores = [{ GATEPASS_SECRET_STORE: 'file' }, { GATEPASS_SECRET_STORE: '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=' + home + '/no-bus' }];
      const noImport = () => Promise.reject(new Error('the warm-up is a cache hit'));
      // The fast path prints its token with fs.writeSync(1, …): that is when a run is done.
      const fs = require('node:fs');
      const writeSync = fs.writeSync;
      let printed;
      fs.writeSync = (fd, ...rest) => {
        const n = writeSync(fd, ...rest);
        if (fd === 1) printed?.();
        return n;
      };
      (async () => {
        for (const store of stores) {
          Object.assign(process.env, store);
          process.argv = [process.argv[0], file, 'token'];
          const mod = { exports: {} };
          const done = new Promise((resolve, reject) => {
            printed = resolve;
            setTimeout(() => reject(new Error('no token printed')), 10000).unref();
          });
          fast(mod.exports, require, mod, file, require('node:path').dirname(file), noImport);
          await done;
        }
        fs.writeSync = writeSync;
        writeFileSync(out, script.createCachedData());
      })().catch((err) => {
        console.error(err);
        process.exit(1);
      });`;
    const printed = node(['-e', warm, path.join(dist, 'fast.js'), path.join(dist, 'fast.cache'), home]);
    if (printed !== 'build-warm-up\nbuild-warm-up\n') {
      throw new Error(`code cache: the warm-up runs printed ${JSON.stringify(printed)}, not the token twice`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
