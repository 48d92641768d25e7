/**
 * Secret stores hold refresh tokens, cached access tokens and the local proxy key. Implementations:
 * the OS keychain (`@napi-rs/keyring`), a 0600 file fallback, the environment (CI), memory (tests).
 * Values never appear in logs or errors.
 */
export type SecretStoreKind = 'keychain' | 'file' | 'env' | 'memory';

export interface SecretStore {
  readonly kind: SecretStoreKind;
  /** Human description for status output, e.g. "Secret Service (gnome-keyring)" or a file path. */
  readonly description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  /** Returns true when something was deleted. */
  delete(key: string): Promise<boolean>;
}

/** The secret-store key of the per-install local proxy key (clients present it as their API key). */
export const LOCAL_PROXY_KEY_NAME = 'GATEPASS_LOCAL_PROXY_KEY';
