import type { SecretStore } from './types.js';

export const ENV_SECRET_PREFIX = 'GATEPASS_SECRET_';

/** Environment variable that holds `key` in the environment store. */
export function envSecretName(key: string): string {
  return `${ENV_SECRET_PREFIX}${key.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/**
 * Read-mostly store over `GATEPASS_SECRET_<KEY>` variables, for CI and tests. Writes only change this
 * process's view (they cannot reach the parent shell), which is what a CI job wants.
 */
export function createEnvStore(env: NodeJS.ProcessEnv = process.env): SecretStore {
  return {
    kind: 'env',
    description: `environment (${ENV_SECRET_PREFIX}* variables)`,
    async get(key) {
      const v = env[envSecretName(key)];
      return v === undefined || v === '' ? undefined : v;
    },
    async set(key, value) {
      env[envSecretName(key)] = value;
    },
    async delete(key) {
      const name = envSecretName(key);
      const had = env[name] !== undefined;
      delete env[name];
      return had;
    },
  };
}
