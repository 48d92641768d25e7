/**
 * Whether this gatepass is the single executable (a Node SEA built by scripts/build-sea.mjs), and
 * where that binary keeps the files it ships beside itself. The build defines `__GATEPASS_SEA__`;
 * dist/ and the sources leave it undefined.
 */
import path from 'node:path';

declare const __GATEPASS_SEA__: boolean | undefined;

export const IS_SEA: boolean = typeof __GATEPASS_SEA__ === 'boolean' && __GATEPASS_SEA__;

/** The OS keychain addon (@napi-rs/keyring's native binding), shipped beside the binary. */
export const SEA_KEYRING_ADDON = 'gatepass-keyring.node';

/**
 * A file shipped beside the binary. `process.execPath` is the binary's real path (resolved by the
 * OS), so a symlink such as /usr/local/bin/gatepass still finds it.
 */
export function seaSidecar(name: string): string {
  return path.join(path.dirname(process.execPath), name);
}
