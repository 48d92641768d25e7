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
