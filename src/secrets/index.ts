// SCAFFOLD (replaced by the secret-store work: keychain default, 0600 file fallback, env store).
import type { GatepassPaths } from '../config/paths.js';
import type { Logger } from '../log.js';
import { createEnvStore } from './env.js';
import { createMemoryStore } from './memory.js';
import type { SecretStore } from './types.js';

export interface OpenStoreOptions {
  paths: GatepassPaths;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

export async function openSecretStore(options: OpenStoreOptions): Promise<SecretStore> {
  return options.env['GATEPASS_SECRET_STORE'] === 'env' ? createEnvStore(options.env) : createMemoryStore();
}
