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
