/**
 * The OS keychain store: macOS Keychain, Windows Credential Manager, Linux Secret Service, through
 * @napi-rs/keyring (a native addon, loaded lazily so commands that never touch secrets skip it).
 * Every entry lives under the service name "gatepass" with the secret key as the account; values
 * too long for the platform (Windows Credential Manager) are split into chunks (chunked.ts).
 */
import { createRequire } from 'node:module';
import { SecretStoreError } from '../errors.js';
import { IS_SEA, loadSeaAddon, SEA_KEYRING_ADDON } from '../util/sea.js';
import { keychainChunkSize, withChunking } from './chunked.js';
import type { SecretStore } from './types.js';

export const KEYCHAIN_SERVICE = 'gatepass';

type EntryClass = typeof import('@napi-rs/keyring').AsyncEntry;

let entryClass: EntryClass | undefined;

async function loadEntry(): Promise<EntryClass> {
  if (!entryClass) {
    try {
      if (IS_SEA) {
        // The single executable loads the platform's binding from beside itself.
        entryClass = loadSeaAddon<typeof import('@napi-rs/keyring')>(SEA_KEYRING_ADDON).AsyncEntry;
      } else {
        // require(), not import(): the package is CommonJS, and importing it from ESM first runs
        // cjs-module-lexer over its large platform-dispatch index.js — 54 ms of CPU against 11 ms
        // (measured in a fresh process, median of 10), on every `gatepass token` using the keychain.
        const load = createRequire(import.meta.url);
        entryClass = (load('@napi-rs/keyring') as typeof import('@napi-rs/keyring')).AsyncEntry;
      }
    } catch (err) {
      throw new SecretStoreError('the OS keychain module could not be loaded', { cause: err });
    }
  }
  return entryClass;
}

/**
 * On Linux, require the Secret Service: the binding would otherwise fall back silently to the kernel
 * keyutils keyring, which forgets everything at reboot (and is often denied in containers).
 */
const ENTRY_OPTIONS = { linux: { store: 'secret-service' as const } };

function describePlatform(): string {
  if (process.platform === 'darwin') return 'macOS Keychain';
  if (process.platform === 'win32') return 'Windows Credential Manager';
  return 'Secret Service (OS keychain)';
}

function fail(op: string, key: string, err: unknown): never {
  throw new SecretStoreError(`cannot ${op} "${key}" in the OS keychain: ${(err as Error)?.message ?? err}`, {
    cause: err,
    hint: 'unlock your keychain, or set GATEPASS_SECRET_STORE=file to keep secrets in a private file',
  });
}

export interface KeychainStoreOptions {
  /** Environment for the chunk-size override (keychainChunkSize); process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export async function createKeychainStore(
  service = KEYCHAIN_SERVICE,
  options: KeychainStoreOptions = {},
): Promise<SecretStore> {
  const Entry = await loadEntry();
  const raw = {
    async get(key: string) {
      try {
        return (await new Entry(service, key, ENTRY_OPTIONS).getPassword()) ?? undefined;
      } catch (err) {
        fail('read', key, err);
      }
    },
    async set(key: string, value: string) {
      try {
        await new Entry(service, key, ENTRY_OPTIONS).setPassword(value);
      } catch (err) {
        fail('write', key, err);
      }
    },
    async delete(key: string) {
      try {
        return await new Entry(service, key, ENTRY_OPTIONS).deletePassword();
      } catch (err) {
        // keyring reports a missing entry as an error on some platforms: that is "nothing deleted".
        if (/no (matching )?entry|not found/i.test(String((err as Error)?.message))) return false;
        fail('delete', key, err);
      }
    },
  };
  const chunked = withChunking(raw, keychainChunkSize(options.env ?? process.env));
  return { kind: 'keychain', description: describePlatform(), ...chunked };
}

/**
 * Is the keychain usable right now? A read of an absent entry needs a working backend (D-Bus and a
 * Secret Service on Linux) but never prompts or writes.
 */
export async function probeKeychain(service = KEYCHAIN_SERVICE): Promise<boolean> {
  try {
    const Entry = await loadEntry();
    await new Entry(service, 'GATEPASS_PROBE', ENTRY_OPTIONS).getPassword();
    return true;
  } catch {
    return false;
  }
}
