/**
 * The access-token cache file of the default store. Short-lived access tokens (secret keys ending in
 * `_AT`) are kept in 0600 files in `<cacheDir>/access-tokens` (0700), as kubelogin and the cloud
 * CLIs do; refresh tokens and every other secret stay in the OS keychain (or its file fallback).
 * `gatepass token` on a cache hit then reads one small file and never loads the native keychain
 * addon nor makes a D-Bus round trip. Trade-off (SECURITY.md): a process running as the user can
 * read the access token (valid minutes to an hour) without asking the keychain; the refresh token,
 * which lives for days, never leaves it.
 *
 * Entries written by older versions into the wrapped store are read through on a miss and moved to
 * the file (unless read-only); a delete removes both, so logout leaves nothing behind.
 */
import path from 'node:path';
import type { GatepassPaths } from '../config/paths.js';
import { createFileStore } from './file.js';
import type { SecretStore } from './types.js';

const ACCESS_TOKEN_SUFFIX = '_AT';

/** Directory of the access-token cache files (0700; each file 0600). */
export function accessTokenCacheDir(paths: Pick<GatepassPaths, 'cacheDir'>): string {
  return path.join(paths.cacheDir, 'access-tokens');
}

export function isAccessTokenKey(key: string): boolean {
  return key.endsWith(ACCESS_TOKEN_SUFFIX);
}

export interface TokenCacheOptions {
  /** Only reads follow (the token fast path): a read-through entry is not moved. */
  readOnly?: boolean;
}

/** `inner` with its `_AT` keys kept in the cache files instead. */
export function withAccessTokenCache(
  inner: SecretStore,
  paths: Pick<GatepassPaths, 'cacheDir'>,
  options: TokenCacheOptions = {},
): SecretStore {
  const files = createFileStore(accessTokenCacheDir(paths));
  return {
    get kind() {
      return inner.kind;
    },
    get description() {
      return inner.description;
    },
    async get(key) {
      if (!isAccessTokenKey(key)) return inner.get(key);
      const cached = await files.get(key);
      if (cached !== undefined) return cached;
      // Written by a version that kept access tokens in the store itself.
      const old = await inner.get(key);
      if (old !== undefined && !options.readOnly) {
        await files.set(key, old);
        await inner.delete(key).catch(() => false);
      }
      return old;
    },
    async set(key, value) {
      if (!isAccessTokenKey(key)) return inner.set(key, value);
      await files.set(key, value);
    },
    async delete(key) {
      if (!isAccessTokenKey(key)) return inner.delete(key);
      const fromFile = await files.delete(key);
      const fromInner = await inner.delete(key);
      return fromFile || fromInner;
    },
  };
}
