/**
 * The environment secret store (`GATEPASS_SECRET_STORE=env`): secrets in `GATEPASS_SECRET_*`
 * variables, and the helper that keeps them out of the programs gatepass starts.
 */
import type { SecretStore } from './types.js';

export const ENV_SECRET_PREFIX = 'GATEPASS_SECRET_';

/** Environment variable that holds `key` in the environment store (upper-cased, `_` for others). */
export function envSecretName(key: string): string {
  return `${ENV_SECRET_PREFIX}${key.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/**
 * The variables read for `key`, in order: the key exactly as gatepass names it (as in the config's
 * token_ref, e.g. `GATEPASS_SECRET_LLM_OAUTH_1a2b3c4d_AT`), then its upper-cased form.
 */
export function envSecretNames(key: string): string[] {
  const exact = `${ENV_SECRET_PREFIX}${key}`;
  const normal = envSecretName(key);
  return exact === normal || !/^[A-Za-z0-9_]+$/.test(key) ? [normal] : [exact, normal];
}

/**
 * `env` without the env store's `GATEPASS_SECRET_*` variables (refresh tokens among them): the
 * environment for programs gatepass starts (`exec` children, token and refresh commands), which get
 * the one token they need in their own variables and have no use for the store.
 */
export function withoutEnvSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.toUpperCase().startsWith(ENV_SECRET_PREFIX)) out[k] = v;
  }
  return out;
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
      for (const name of envSecretNames(key)) {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
      }
      return undefined;
    },
    async set(key, value) {
      for (const name of envSecretNames(key)) delete env[name];
      env[envSecretName(key)] = value;
    },
    async delete(key) {
      let had = false;
      for (const name of envSecretNames(key)) {
        if (env[name] !== undefined) had = true;
        delete env[name];
      }
      return had;
    },
  };
}
