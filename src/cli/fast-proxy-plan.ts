/**
 * Whether `gatepass proxy start` can take the lean entry (fast-proxy.ts, dist/proxy.cjs): its argv
 * parser and the fresh config snapshot, checked in the bin (dist/fast.js) itself so that a run the lean entry
 * cannot serve loads nothing more than the token fast path does before the full CLI takes over.
 * See fast-proxy.ts for what is served there and why.
 */
import { existsSync } from 'node:fs';
import { managedSources, resolvePaths } from '../config/paths.js';
import type { GatepassConfig } from '../config/schema.js';
import { type ConfigSnapshot, readFreshSnapshot } from '../config/snapshot.js';
import { builtin } from '../util/builtin.js';
import { envBool } from '../util/env.js';
import type { StartOptions } from './commands/proxy-start.js';
import type { GlobalOptions } from './context.js';
import { checkEnvironment } from './env-check.js';

export interface LeanProxyArgs {
  globals: GlobalOptions;
  options: StartOptions;
}

const GLOBAL_VALUE: Record<string, 'config' | 'provider'> = {
  '-p': 'provider',
  '--provider': 'provider',
  '--config': 'config',
};
const GLOBAL_FLAGS: Record<string, 'verbose' | 'quiet'> = {
  '-v': 'verbose',
  '--verbose': 'verbose',
  '-q': 'quiet',
  '--quiet': 'quiet',
};
const COMMAND_VALUE: Record<string, 'port' | 'caFile'> = { '--port': 'port', '--ca-file': 'caFile' };
const COMMAND_FLAGS: Record<string, 'background' | 'skipBrowser' | 'tlsSkipVerify'> = {
  '--background': 'background',
  '--skip-browser': 'skipBrowser',
  '--tls-skip-verify': 'tlsSkipVerify',
};

/**
 * Parse argv (without node and the script) when it is a `gatepass proxy start` the lean entry
 * understands; undefined otherwise. Mirrors commander's rules for this subset (as fast-token.ts
 * does): global options anywhere, command options after `start`, `--long=value` or `--long value`,
 * the last occurrence wins.
 */
export function parseLeanProxyArgs(argv: readonly string[]): LeanProxyArgs | undefined {
  const globals: GlobalOptions = {};
  const options: StartOptions = {};
  let words = 0; // `proxy`, then `start`
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (words === 0 && arg === 'proxy') words = 1;
      else if (words === 1 && arg === 'start') words = 2;
      else return undefined;
      continue;
    }
    const flag = GLOBAL_FLAGS[arg];
    if (flag) {
      globals[flag] = true;
      continue;
    }
    const commandFlag = words === 2 ? COMMAND_FLAGS[arg] : undefined;
    if (commandFlag) {
      options[commandFlag] = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const globalKey = GLOBAL_VALUE[name];
    const commandKey = words === 2 ? COMMAND_VALUE[name] : undefined;
    if (!globalKey && !commandKey) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    // Empty values and values that look like options: let commander decide what they mean.
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (globalKey) globals[globalKey] = value;
    else options[commandKey!] = value;
  }
  // --verbose with --quiet is commander's (and createContext's) usage error.
  if (words !== 2 || (globals.verbose && globals.quiet)) return undefined;
  return { globals, options };
}

/** What the lean entry starts from: the parsed argv, and the config from a fresh snapshot. */
export interface LeanProxyPlan extends LeanProxyArgs {
  config: GatepassConfig;
  /** The selected provider, listed as usable in the snapshot. */
  name: string;
}

/**
 * The snapshot, made fresh when it is stale or missing but the config file is there (a hand-edited
 * YAML, a changed managed config, a config no full-CLI run has read yet): the YAML is parsed by a
 * short-lived `gatepass config show` (its output dropped), which rewrites the snapshot like any
 * full-CLI read, so the proxy that stays running never loads the YAML parser itself. When that
 * fails (a malformed or untrusted file, a directory it cannot write), the snapshot stays stale and
 * the full CLI runs here and reports what is wrong.
 */
function freshSnapshot(
  configFile: string,
  configFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  script: string | undefined,
): ConfigSnapshot | undefined {
  const read = () => readFreshSnapshot(configFile, managedSources(env), env);
  const snap = read();
  if (snap || !script || !existsSync(configFile)) return snap;
  const childEnv = { ...env };
  // A background proxy's nonce is for the proxy alone (NONCE_ENV of proxy/state.ts, spelled out:
  // importing it would bring node:crypto into the bin (dist/fast.js)).
  delete childEnv['GATEPASS_PROXY_NONCE'];
  const args = [script, ...(configFlag !== undefined ? ['--config', configFlag] : []), 'config', 'show'];
  // node:child_process only now: the token fast path, bundled with this file, never loads it.
  const { spawnSync } = builtin('node:child_process');
  const r = spawnSync(process.execPath, args, { env: childEnv, stdio: 'ignore', timeout: 60_000 });
  return r.status === 0 ? read() : undefined;
}

/**
 * The plan for the lean entry, or undefined when the full CLI must run: GATEPASS_PROXY_FAST_PATH=0,
 * argv it does not understand, a GATEPASS_* value the full CLI refuses, no fresh snapshot (after
 * trying to refresh it), or a provider the snapshot does not list as usable (unknown, incomplete,
 * invalid: the full CLI says so). Never throws.
 */
export function planLeanProxy(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  /** The gatepass script (the bin (dist/fast.js)) that may refresh a stale snapshot; none: it is not refreshed. */
  script?: string,
): LeanProxyPlan | undefined {
  try {
    if (envBool(env, 'GATEPASS_PROXY_FAST_PATH') === false) return undefined;
    const args = parseLeanProxyArgs(argv);
    if (!args) return undefined;
    checkEnvironment(env);
    const paths = resolvePaths({ env, configOverride: args.globals.config });
    const snap = freshSnapshot(paths.configFile, args.globals.config, env, script);
    if (!snap) return undefined;
    const name = args.globals.provider || snap.config.default_provider || 'default';
    if (!snap.config.providers[name] || !snap.usable.includes(name)) return undefined;
    return { ...args, config: snap.config, name };
  } catch {
    return undefined;
  }
}
