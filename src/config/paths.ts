/**
 * Where gatepass keeps its files. The config file lives in the XDG config dir (or the platform's
 * equivalent); `GATEPASS_CONFIG` or `--config` override it. Cache (token caches, file secret store)
 * and state (locks, proxy pid file) live in their own private directories.
 *
 * The layout is env-paths' (with an empty suffix), computed here from the *given* environment rather
 * than env-paths' module-load snapshot of process.env, and with a guard: an empty or relative HOME
 * would otherwise give relative paths, i.e. config and tokens written into whatever the current
 * directory happens to be.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';

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
  /** For tests. */
  platform?: NodeJS.Platform;
  /** For tests: the account's home directory from the user database (default os.userInfo()). */
  accountHome?: () => string | undefined;
}

const APP = 'gatepass';

function defaultAccountHome(): string | undefined {
  try {
    return os.userInfo().homedir;
  } catch {
    return undefined;
  }
}

/** The home directory: $HOME (%USERPROFILE% on Windows) when absolute, else the account's. */
export function resolveHome(options: PathOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const fromEnv = platform === 'win32' ? env['USERPROFILE'] || env['HOME'] : env['HOME'];
  if (fromEnv && path.isAbsolute(fromEnv)) return fromEnv;
  const account = (options.accountHome ?? defaultAccountHome)();
  if (account && path.isAbsolute(account)) return account;
  throw new ConfigError(
    'E_CONFIG_MISSING',
    `cannot find your home directory (HOME is ${fromEnv ? `relative: "${fromEnv}"` : 'empty or unset'})`,
    {
      hint: 'set HOME to an absolute path, or point GATEPASS_CONFIG, GATEPASS_CACHE_DIR and GATEPASS_STATE_DIR at absolute paths',
    },
  );
}

/** An environment directory variable, honoured only when absolute (as the XDG spec requires). */
function absEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v && path.isAbsolute(v) ? v : undefined;
}

interface BaseDirs {
  config: string;
  cache: string;
  data: string;
}

function baseDirs(options: PathOptions): BaseDirs {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = () => resolveHome(options);
  if (platform === 'darwin') {
    const lib = path.join(home(), 'Library');
    return {
      config: path.join(lib, 'Preferences', APP),
      cache: path.join(lib, 'Caches', APP),
      data: path.join(lib, 'Application Support', APP),
    };
  }
  if (platform === 'win32') {
    const appData = absEnv(env, 'APPDATA') ?? path.join(home(), 'AppData', 'Roaming');
    const local = absEnv(env, 'LOCALAPPDATA') ?? path.join(home(), 'AppData', 'Local');
    return {
      config: path.join(appData, APP, 'Config'),
      cache: path.join(local, APP, 'Cache'),
      data: path.join(local, APP, 'Data'),
    };
  }
  return {
    config: path.join(absEnv(env, 'XDG_CONFIG_HOME') ?? path.join(home(), '.config'), APP),
    cache: path.join(absEnv(env, 'XDG_CACHE_HOME') ?? path.join(home(), '.cache'), APP),
    data: path.join(absEnv(env, 'XDG_DATA_HOME') ?? path.join(home(), '.local', 'share'), APP),
  };
}

export function resolvePaths(options: PathOptions = {}): GatepassPaths {
  const env = options.env ?? process.env;
  // Lazily: with every location overridden, no home directory is needed at all.
  let dirs: BaseDirs | undefined;
  const base = () => {
    dirs ??= baseDirs(options);
    return dirs;
  };
  const configFile = path.resolve(
    options.configOverride || env['GATEPASS_CONFIG'] || path.join(base().config, 'config.yaml'),
  );
  const stateOverride = env['GATEPASS_STATE_DIR'];
  return {
    configFile,
    configDir: path.dirname(configFile),
    cacheDir: env['GATEPASS_CACHE_DIR'] ? path.resolve(env['GATEPASS_CACHE_DIR']) : base().cache,
    stateDir: stateOverride ? path.resolve(stateOverride) : base().data,
    // Only when everything else is overridden can a missing home be tolerated; data then sits with state.
    dataDir: stateOverride && !dirs ? path.resolve(stateOverride) : base().data,
  };
}

/** macOS: the managed preferences an MDM configuration profile installs for gatepass' domain. */
export const MANAGED_PLIST = '/Library/Managed Preferences/dev.gatepass.cli.plist';

/** Does `name` (a GATEPASS_MANAGED_CONFIG value, a managed source) name a registry key? */
export function isRegistryKey(name: string): boolean {
  return /^(HKLM|HKEY_LOCAL_MACHINE)\\/i.test(name);
}

/**
 * The fleet-managed config file's path (managed.ts) on `platform` (GATEPASS_MANAGED_CONFIG wins,
 * a registry key there as written; empty means none).
 */
export function managedConfigFile(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const override = env['GATEPASS_MANAGED_CONFIG'];
  if (override !== undefined) {
    return override === '' ? undefined : isRegistryKey(override) ? override : path.resolve(override);
  }
  // A configuration profile's managed preferences (`gatepass mdm print --format mobileconfig`) win.
  if (platform === 'darwin') {
    return existsSync(MANAGED_PLIST) ? MANAGED_PLIST : '/Library/Application Support/gatepass/config.yaml';
  }
  if (platform === 'win32') {
    return path.win32.join(env['ProgramData'] ?? 'C:\\ProgramData', 'gatepass', 'config.yaml');
  }
  return '/etc/gatepass/config.yaml';
}

/** Windows: the policy registry key a Group Policy / MDM deploys (`gatepass mdm print --format reg`). */
export const WINDOWS_POLICY_KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass';

/**
 * The managed layer's sources in order (managed.ts reads the first that exists): on Windows the
 * policy registry key, then `%ProgramData%\gatepass\config.yaml`; elsewhere the one file of
 * managedConfigFile(). GATEPASS_MANAGED_CONFIG names the only source (a file, or a registry key).
 */
export function managedSources(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] {
  const file = managedConfigFile(env, platform);
  if (!file) return [];
  return platform === 'win32' && env['GATEPASS_MANAGED_CONFIG'] === undefined
    ? [WINDOWS_POLICY_KEY, file]
    : [file];
}
