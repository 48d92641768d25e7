/**
 * The esbuild plugin that keeps the `gatepass token` fast path's one-file bundles (dist/cli.js by
 * build.mjs, the single executable's main by build-sea.mjs) small: dynamic imports the fast path
 * never needs (OAuth client, login flow, config writer, lock library) become stubs that reject — if
 * ever reached, the fast path gives up and the full CLI runs.
 */
const FAST_PATH_DYNAMIC = new Set([
  './command/source.js',
  './oidc/source.js',
  '../secrets/keychain.js',
  './keychain.js',
]);

/** `external`: packages left to run time; `./full.js` (dist/cli.js' hand-over) always stays external. */
export function fastPathOnly(external) {
  return {
    name: 'fast-path-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        if (args.path === './full.js') return { path: './full.js', external: true };
        // The refresh fast path: its own file, dist/refresh.js (refreshOnly below).
        if (args.path === './fast-refresh.js') return { path: './refresh.js', external: true };
        if (
          args.path.startsWith('node:') ||
          external.includes(args.path) ||
          FAST_PATH_DYNAMIC.has(args.path)
        ) {
          return undefined;
        }
        return { path: args.path, namespace: 'fast-path-stub' };
      });
      b.onLoad({ filter: /.*/, namespace: 'fast-path-stub' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the token fast path`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * dist/refresh.js (src/cli/fast-refresh.ts): the refresh fast path in one file. What it never runs
 * becomes a stub that rejects: the browser login (it serves non-interactive calls only), command
 * providers' runner (OIDC only), undici's fetch for TLS options / egress proxies (those refreshes
 * run the full CLI). `plist` (macOS managed preferences, read when the config is written) stays a
 * run-time import.
 */
const REFRESH_STUBS = new Set([
  './flow.js',
  './run.js',
  './tls-fetch.js',
  './command/login.js',
  './oidc/login.js',
]);

export function refreshOnly(external) {
  return {
    name: 'refresh-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        if (args.path === 'plist') return { path: 'plist', external: true };
        if (args.path.startsWith('node:') || external.includes(args.path) || !REFRESH_STUBS.has(args.path)) {
          return undefined;
        }
        return { path: args.path, namespace: 'refresh-stub' };
      });
      b.onLoad({ filter: /.*/, namespace: 'refresh-stub' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the refresh fast path`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * In a CommonJS bundle, esbuild wraps each default or namespace import of a built-in (`import path
 * from 'node:path'`) in `__toESM(require("node:path"), 1)`, which copies every export of the module
 * onto a new object with a getter each — once per importing module (a dozen for node:path in the
 * fast path; ≈ 0.5 ms of a cached token's CPU). For node:fs, node:os and node:path an object whose
 * prototype is the module itself, with `default` set, reads the same (their getters, such as
 * fs.promises, do not use `this`).
 */
export function leanBuiltinInterop(code) {
  const helper = 'var __gpBuiltin = (m) => ({ __proto__: m, default: m });\n';
  const out = code.replace(/__toESM\(require\("(node:(?:fs|os|path))"\), 1\)/g, '__gpBuiltin(require("$1"))');
  if (out === code) return code;
  // After the banner and "use strict" (the first line that is neither).
  const lines = out.split('\n');
  const at = lines.findIndex((l) => !/^(#!|"use strict";|var __gpMeta )/.test(l));
  lines.splice(at, 0, helper.trimEnd());
  return lines.join('\n');
}

/**
 * The environment and files of the code-cache warm-up runs (build-fast-path.mjs, build-sea.mjs): every
 * gatepass location under `dir` (no home directory, XDG or platform layout involved), no managed
 * layer, nothing of the builder's own gatepass settings, and no NODE_OPTIONS (V8 rejects a code cache
 * made under other flags than the program runs with).
 */
export function warmUpEnv(dir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(GATEPASS_|XDG_|NODE_OPTIONS$|DBUS_SESSION_BUS_ADDRESS$)/.test(k)) env[k] = v;
  }
  const p = (...parts) => parts.join('/');
  Object.assign(env, {
    GATEPASS_CONFIG: p(dir, 'config', 'config.yaml'),
    GATEPASS_STATE_DIR: p(dir, 'state'),
    GATEPASS_CACHE_DIR: p(dir, 'cache'),
    GATEPASS_MANAGED_CONFIG: p(dir, 'no-managed-config.yaml'),
    GATEPASS_SECRET_STORE: 'file',
  });
  return {
    env,
    snapshot: p(dir, 'config', '.config.yaml.snapshot.json'),
    // Where a cached access token is read from: the file store, the default store's cache file.
    tokenDirs: [p(dir, 'state', 'secrets'), p(dir, 'cache', 'access-tokens')],
  };
}
