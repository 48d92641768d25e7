/**
 * The fast path of `gatepass token`: serve a cached token without loading the command tree
 * (commander) or the YAML parser. Tools run the token helper often (Claude Code every 5 minutes and
 * on every 401, kubectl on every call), so its start-up time is the cost users feel.
 *
 * It serves only the plain cases and hands everything else to the full CLI, which then behaves
 * exactly as if the fast path did not exist:
 * - argv is `token` with only options this parser knows (anything else: help, -v, typos, extra
 *   arguments, a value that looks like an option — full path, which also prints the usage errors);
 * - the config has a fresh JSON snapshot (snapshot.ts; a hand-edited YAML invalidates it) naming the
 *   selected provider as usable;
 * - the secret store can be read directly (file, env, keychain; with the default store the access
 *   token comes from its cache file and the keychain addon is loaded only on a miss);
 * - the provider's token source has a usable token without a lock, a command, a network call or a
 *   write (`cacheOnly`).
 * The output comes from the same code as the full command (token-format.ts, the token sources).
 */
import { existsSync } from 'node:fs';
import { createCommandTokenSource } from '../auth/command/source.js';
import { createOidcTokenSource } from '../auth/oidc/source.js';
import type { AuthContext, TokenResult, TokenSource } from '../auth/types.js';
import { managedSources, resolvePaths } from '../config/paths.js';
import type { Provider } from '../config/schema.js';
import { type ConfigSnapshot, readFreshSnapshot } from '../config/snapshot.js';
import { createLogger } from '../log.js';
import { createEnvStore } from '../secrets/env.js';
import { createFileStore } from '../secrets/file.js';
import { FALLBACK_MARKER, fileStoreDir, SECRET_STORE_ENV } from '../secrets/index.js';
import { withAccessTokenCache } from '../secrets/token-cache.js';
import type { SecretStore } from '../secrets/types.js';
import { envBool } from '../util/env.js';
import { checkEnvironment } from './env-check.js';
import { formatToken, parseMinValid, TOKEN_FORMATS } from './token-format.js';

export interface FastTokenArgs {
  provider?: string;
  config?: string;
  format: string;
  minValid?: string;
  quiet?: boolean;
}

const GLOBAL_VALUE: Record<string, keyof FastTokenArgs> = {
  '-p': 'provider',
  '--provider': 'provider',
  '--config': 'config',
};
const COMMAND_VALUE: Record<string, keyof FastTokenArgs> = {
  '--format': 'format',
  '--min-valid': 'minValid',
};
const GLOBAL_FLAGS = new Set(['-q', '--quiet']);
// Flags that change nothing when a cached token is served.
const COMMAND_FLAGS = new Set(['--interactive', '--skip-browser']);

/**
 * Parse argv (without node and the script) when it is a `gatepass token` invocation the fast path
 * understands; undefined otherwise. Mirrors commander's rules for the accepted subset: global options
 * before or after the subcommand, `--long=value` or `--long value`, the last occurrence wins.
 */
export function parseFastTokenArgs(argv: readonly string[]): FastTokenArgs | undefined {
  const out: FastTokenArgs = { format: 'token' };
  let seenCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === 'token' && !seenCommand) {
      seenCommand = true;
      continue;
    }
    if (GLOBAL_FLAGS.has(arg)) {
      out.quiet = true;
      continue;
    }
    if (seenCommand && COMMAND_FLAGS.has(arg)) continue;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = GLOBAL_VALUE[name] ?? (seenCommand ? COMMAND_VALUE[name] : undefined);
    if (!key) return undefined;
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else value = argv[++i];
    // Empty values and values that look like options: let commander decide what they mean.
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    (out as unknown as Record<string, string>)[key] = value;
  }
  if (!seenCommand) return undefined;
  if (!(TOKEN_FORMATS as readonly string[]).includes(out.format)) return undefined;
  return out;
}

/** Buffered stderr: written only when the fast path succeeds, dropped when the full path takes over. */
export function bufferStream(): NodeJS.WritableStream & { text: string } {
  const stream = {
    text: '',
    write(chunk: string | Uint8Array) {
      stream.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
  return stream as unknown as NodeJS.WritableStream & { text: string };
}

async function openStore(
  paths: ReturnType<typeof resolvePaths>,
  env: NodeJS.ProcessEnv,
): Promise<SecretStore | undefined> {
  const choice = (env[SECRET_STORE_ENV] ?? '').trim().toLowerCase();
  if (choice === 'env') return createEnvStore(env);
  if (choice === 'file') return createFileStore(fileStoreDir(paths));
  if (choice !== 'keychain' && choice !== '') return undefined; // memory (always empty) or invalid
  const dir = fileStoreDir(paths);
  // Chunked keychain entries (long tokens on Windows) are assembled by the keychain store itself.
  // The default store falls back to the file store once the keychain has failed; the first time it
  // prints a notice and writes a marker — that first time belongs to the full path.
  const fallbackNoticed = choice === '' && existsSync(`${dir}/${FALLBACK_MARKER}`);
  const file = createFileStore(dir);
  let keychain: Promise<SecretStore> | undefined;
  let active: SecretStore | undefined;
  // Loaded on first use: with the default store a cached access token comes from its cache file and
  // the native addon is never loaded (no D-Bus round trip either).
  const openKeychain = async (): Promise<SecretStore> => {
    const { createKeychainStore } = await import('../secrets/keychain.js');
    return createKeychainStore(undefined, { env });
  };
  const refuse = async (): Promise<never> => {
    throw new Error('the token fast path only reads secrets');
  };
  const store: SecretStore = {
    kind: 'keychain',
    description: 'OS keychain',
    async get(key) {
      if (active) return active.get(key);
      try {
        keychain ??= openKeychain();
        const kc = await keychain;
        const v = await kc.get(key);
        active = kc;
        return v;
      } catch (err) {
        if (!fallbackNoticed) throw err;
        active = file;
        return file.get(key);
      }
    },
    set: refuse,
    delete: refuse,
  };
  return choice === '' ? withAccessTokenCache(store, paths, { readOnly: true }) : store;
}

/** What both fast paths (this cache hit, and fast-refresh.ts) start from. */
export interface FastTokenPlan {
  args: FastTokenArgs;
  minValidityMs: number | undefined;
  paths: ReturnType<typeof resolvePaths>;
  config: ConfigSnapshot['config'];
  name: string;
  provider: Provider;
  /** The OIDC provider's secret key (from the snapshot). */
  secretKey: string | undefined;
}

/**
 * The part both fast paths share: argv, the environment check, the fresh config snapshot and the
 * selected, usable, not logged-out provider. Undefined: the full CLI decides. May throw (the caller
 * hands over to the full CLI then).
 */
export function planFastToken(argv: readonly string[], env: NodeJS.ProcessEnv): FastTokenPlan | undefined {
  const args = parseFastTokenArgs(argv);
  if (!args) return undefined;
  checkEnvironment(env); // a bad GATEPASS_* value: the full CLI reports it (exit 2)
  // GATEPASS_HELPER_CHECK: `gatepass status` probing a helper; the full path answers it.
  if (envBool(env, 'GATEPASS_VERBOSE') || envBool(env, 'GATEPASS_HELPER_CHECK')) return undefined;
  const minValidityMs = parseMinValid(args.minValid);
  const paths = resolvePaths({ env, configOverride: args.config });
  const snap = readFreshSnapshot(paths.configFile, managedSources(env), env);
  if (!snap) return undefined;
  const config = snap.config;
  const name = args.provider || config.default_provider || 'default';
  const provider = config.providers[name];
  // A logged-out provider is refused by the full path ("you are logged out"), never served here.
  if (!provider || !snap.usable.includes(name) || provider.logged_out) return undefined;
  const secretKey = snap.secret_keys[name];
  if (provider.type === 'oidc' && !secretKey) return undefined;
  return { args, minValidityMs, paths, config, name, provider, secretKey };
}

/** What a fast-path miss may be served by instead of the full CLI. */
export interface FastTokenMiss {
  /** The cached token is not good enough for an OIDC provider: fast-refresh.ts may refresh it. */
  refresh?: boolean;
}

/**
 * Try the fast path. Returns what to print (stdout, and stderr lines, if any) on success, or
 * undefined when the full CLI must run instead (`miss.refresh` set when only the cached token was
 * missing or too old). Never throws.
 */
export async function fastToken(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  now: () => number = Date.now,
  miss: FastTokenMiss = {},
): Promise<{ stdout: string; stderr: string } | undefined> {
  try {
    const plan = planFastToken(argv, env);
    if (!plan) return undefined;
    const { args, minValidityMs, paths, config, name, provider } = plan;
    const secrets = await openStore(paths, env);
    if (!secrets) return undefined;
    const stderr = bufferStream();
    const ctx: AuthContext = {
      config,
      configFile: paths.configFile,
      paths,
      logger: createLogger({ verbose: false, quiet: Boolean(args.quiet), stream: stderr }),
      env,
      now,
      secrets,
      interactive: false,
      skipBrowser: true,
      stderr,
    };
    let source: TokenSource;
    if (provider.type === 'oidc') {
      source = createOidcTokenSource(ctx, name, provider, { secretKey: plan.secretKey! });
    } else {
      source = createCommandTokenSource(ctx, name, provider);
    }
    let result: TokenResult;
    try {
      result = await source.getToken(
        minValidityMs === undefined ? { cacheOnly: true } : { cacheOnly: true, minValidityMs },
      );
    } catch (err) {
      if (provider.type === 'oidc' && (err as { code?: unknown }).code === 'E_AUTH_REQUIRED')
        miss.refresh = true;
      return undefined;
    }
    return { stdout: formatToken(result, args.format), stderr: stderr.text };
  } catch {
    return undefined;
  }
}
