/**
 * Choosing the secret store. `GATEPASS_SECRET_STORE` = keychain | file | env | memory selects one;
 * by default the OS keychain is used when it answers a probe, otherwise a private file store under
 * `<stateDir>/secrets` (announced once on stderr, then remembered by a marker file). The default
 * store keeps access tokens in cache files rather than the keychain (token-cache.ts).
 */
import path from 'node:path';
import type { GatepassPaths } from '../config/paths.js';
import { SecretStoreError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { fileExists, writeFileAtomic } from '../util/fs.js';
import { createEnvStore } from './env.js';
import { createFileStore } from './file.js';
import { createMemoryStore } from './memory.js';
import { withAccessTokenCache } from './token-cache.js';
import type { SecretStore } from './types.js';

export interface OpenStoreOptions {
  paths: GatepassPaths;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Only reads will follow (`setup --dry-run`): the fallback notice is given but not remembered. */
  readOnly?: boolean;
}

export const SECRET_STORE_ENV = 'GATEPASS_SECRET_STORE';

/** Directory of the file store (0700; each secret a 0600 file). */
export function fileStoreDir(paths: GatepassPaths): string {
  return path.join(paths.stateDir, 'secrets');
}

export const FALLBACK_MARKER = '.keychain-fallback-noticed';

export async function openSecretStore(options: OpenStoreOptions): Promise<SecretStore> {
  const choice = (options.env[SECRET_STORE_ENV] ?? '').trim().toLowerCase();
  switch (choice) {
    case 'env':
      return createEnvStore(options.env);
    case 'memory':
      return createMemoryStore();
    case 'file':
      return createFileStore(fileStoreDir(options.paths));
    case 'keychain': {
      const { createKeychainStore, probeKeychain } = await import('./keychain.js');
      if (!(await probeKeychain())) {
        throw new SecretStoreError('the OS keychain is not available', {
          hint: `unset ${SECRET_STORE_ENV} to fall back to a private file, or set it to "file"`,
        });
      }
      return createKeychainStore(undefined, { env: options.env });
    }
    case '':
      // Access tokens in 0600 cache files, everything else in the keychain (token-cache.ts).
      return withAccessTokenCache(await openDefaultStore(options), options.paths, {
        readOnly: Boolean(options.readOnly),
      });
    default:
      // A bad environment variable value is a usage error, like a bad flag.
      throw new UsageError(
        `unknown ${SECRET_STORE_ENV} value "${choice.replace(/[\u0000-\u001f\u007f]/g, '?')}"`,
        {
          hint: 'use keychain, file, env or memory',
        },
      );
  }
}

/**
 * The keychain, falling back to the file store when the keychain's first operation fails (no D-Bus
 * session, no Secret Service, no keychain daemon). Deciding on first use rather than with a probe
 * saves a keychain round trip on every `gatepass token`.
 */
async function openDefaultStore(options: OpenStoreOptions): Promise<SecretStore> {
  const dir = fileStoreDir(options.paths);
  const fallback = async (reason: unknown): Promise<SecretStore> => {
    options.logger.debug(`OS keychain unavailable: ${(reason as Error)?.message ?? reason}`);
    const marker = path.join(dir, FALLBACK_MARKER);
    if (!(await fileExists(marker))) {
      options.logger.warn(
        `no OS keychain is available; tokens are kept in private files (0600) in ${dir} (set ${SECRET_STORE_ENV}=file to silence this)`,
      );
      if (!options.readOnly) await writeFileAtomic(marker, '', { mode: 0o600 }).catch(() => {});
    }
    return createFileStore(dir);
  };
  let active: SecretStore | undefined;
  let keychain: SecretStore;
  try {
    const { createKeychainStore } = await import('./keychain.js');
    keychain = await createKeychainStore(undefined, { env: options.env });
  } catch (err) {
    return fallback(err);
  }
  const use = async <T>(op: (store: SecretStore) => Promise<T>): Promise<T> => {
    if (active) return op(active);
    try {
      const value = await op(keychain);
      active = keychain;
      return value;
    } catch (err) {
      active = await fallback(err);
      return op(active);
    }
  };
  return {
    get kind() {
      return (active ?? keychain).kind;
    },
    get description() {
      return (active ?? keychain).description;
    },
    get: (key) => use((s) => s.get(key)),
    set: (key, value) => use((s) => s.set(key, value)),
    delete: (key) => use((s) => s.delete(key)),
  };
}
