/**
 * Where gatepass keeps its files. The config file lives in the XDG config dir (or the platform's
 * equivalent); `GATEPASS_CONFIG` or `--config` override it. Cache (token caches, file secret store)
 * and state (locks, proxy pid file) live in their own private directories.
 */
import path from 'node:path';
import envPaths from 'env-paths';

export interface GatepassPaths {
  configFile: string;
  configDir: string;
  cacheDir: string;
  stateDir: string;
  dataDir: string;
}

export interface PathOptions {
  env?: NodeJS.ProcessEnv;
  configOverride?: string | undefined;
}

export function resolvePaths(options: PathOptions = {}): GatepassPaths {
  const env = options.env ?? process.env;
  const p = envPaths('gatepass', { suffix: '' });
  const configFile = path.resolve(
    options.configOverride || env['GATEPASS_CONFIG'] || path.join(p.config, 'config.yaml'),
  );
  return {
    configFile,
    configDir: path.dirname(configFile),
    cacheDir: env['GATEPASS_CACHE_DIR'] ? path.resolve(env['GATEPASS_CACHE_DIR']) : p.cache,
    stateDir: env['GATEPASS_STATE_DIR'] ? path.resolve(env['GATEPASS_STATE_DIR']) : p.data,
    dataDir: p.data,
  };
}
