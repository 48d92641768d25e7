/**
 * `gatepass status`, a diagnostic: the configuration (no secrets; a hand-edited invalid value is
 * reported, not called fine), each provider's login state as `gatepass token` sees it (a refreshable
 * but expired access token is logged in; a logged-out provider is not) with the signed-in identity
 * from the ID token's claims and the token expiry — never a token —, each configured tool's wiring
 * (with why it drifted and how to fix it, and whether its token helper still starts), and the proxy.
 * `problems` lists what makes the CLI exit 1.
 */
import { accessTokenKey, legacyOidcSecretKey, parseCachedToken } from '../auth/oidc/keys.js';
import { providerSecretKey } from '../auth/oidc/source.js';
import { managedKeysOf } from '../config/managed.js';
import {
  effectiveProxyPort,
  type GatepassConfig,
  isProviderConfigured,
  type Provider,
  type TokenIdentity,
} from '../config/schema.js';
import { type LoadedConfig, loadConfig } from '../config/store.js';
import { requireUsableProvider, validateConfig } from '../config/validate.js';
import { describeError } from '../errors.js';
import { HEALTH_PATH, processAlive, readProxyState } from '../proxy/state.js';
import type { SecretStore } from '../secrets/types.js';
import { inspectText } from '../tools/edit/file.js';
import type { FileChange, KeyState } from '../tools/edit/types.js';
import { readTextIfExists } from '../util/fs.js';
import { fileRecords, hintCommand, openStore, type RunEnv, withToolsLock } from './common.js';
import { checkHelper, isHelperSpec } from './helper-check.js';
import { recoverIfInterrupted } from './journal.js';
import { entryLabel, isMcpServerEntry, mcpEntryTools } from './teardown-scope.js';

export type ToolState = KeyState | 'broken';

export interface StatusReport {
  config_file: string;
  config_exists: boolean;
  /** The fleet-managed config merged in (managed.ts), or null; its keys are listed per provider. */
  managed_config: string | null;
  /** The config passes full validation (a hand edit can break it). */
  config_valid: boolean;
  config_error: string | null;
  default_provider: string;
  proxy_port: number;
  providers: Array<{
    name: string;
    type: string;
    gateway_url: string | null;
    /** Keys of this provider (as `config set` names them) whose value comes from the managed config. */
    managed_keys: string[];
    configured: boolean;
    /** As `gatepass token` sees it: a usable or refreshable token is stored, and no logout since. */
    logged_in: boolean;
    /** `gatepass logout` (or a teardown deleting tokens) since the last login. */
    logged_out: boolean;
    /** Who signed in (ID token claims), never a token. */
    identity: TokenIdentity | null;
    token_expires_at: string | null;
    token_expired: boolean | null;
    /** Gateway layout and models setup wired (null: not known yet). */
    anthropic_path_prefix: string | null;
    openai_path_prefix: string | null;
    models: string[];
    bedrock_compat: boolean;
    /** TLS options: extra CA bundle, verification off (local development only). */
    tls_ca_file: string | null;
    tls_skip_verify: boolean;
  }>;
  tools: Array<{
    tool: string;
    name: string;
    mode: string;
    config_path: string;
    provider: string;
    state: ToolState;
    /** Why it is drifted, missing or broken; null when wired. */
    reason: string | null;
    /** How to fix it; null when wired. */
    fix: string | null;
    files: Array<{ file: string; state: KeyState }>;
  }>;
  proxy: { running: boolean; healthy: boolean; pid: number | null; url: string | null; error?: string };
  /** What is wrong (the CLI exits 1 when there is anything). */
  problems: string[];
}

export interface StatusOptions {
  healthTimeoutMs?: number;
  /** Run each tool's token helper (GATEPASS_HELPER_CHECK) to see that it starts. Default false. */
  checkHelpers?: boolean;
}

interface LoginState {
  logged_in: boolean;
  token_expires_at: string | null;
  token_expired: boolean | null;
}

/** An OIDC provider's login state from the secret store (falling back to token_ref without one). */
async function oidcLogin(
  provider: Extract<Provider, { type: 'oidc' }>,
  store: SecretStore | undefined,
  now: number,
): Promise<LoginState> {
  let expMs = provider.token_ref?.expires_at === undefined ? undefined : provider.token_ref.expires_at * 1000;
  let loggedIn = Boolean(provider.token_ref?.secret_key);
  if (store) {
    try {
      const key = providerSecretKey(provider);
      // Tokens of an older gatepass (gateway + issuer key) are moved to the new key on first use.
      const legacy = legacyOidcSecretKey(provider.gateway_url ?? '', provider.oidc.issuer ?? '');
      let refresh = false;
      let cached: ReturnType<typeof parseCachedToken>;
      for (const k of [key, legacy]) {
        refresh = Boolean(await store.get(k));
        cached = parseCachedToken(await store.get(accessTokenKey(k)));
        if (refresh || cached) break;
      }
      if (cached?.expiresAt !== undefined) expMs = cached.expiresAt;
      loggedIn =
        refresh || (cached !== undefined && (cached.expiresAt === undefined || cached.expiresAt > now));
    } catch {
      // an unreadable store: token_ref decides
    }
  }
  if (provider.logged_out) loggedIn = false;
  return {
    logged_in: loggedIn,
    token_expires_at: expMs === undefined ? null : new Date(expMs).toISOString(),
    token_expired: expMs === undefined ? null : expMs <= now,
  };
}

/** Which keys of a file drifted or went missing, for the reason line. */
async function fileDetail(
  record: FileChange,
): Promise<{ state: KeyState; drifted: string[]; missing: string[] }> {
  const text = await readTextIfExists(record.file);
  if (text === undefined) return { state: 'missing', drifted: [], missing: [] };
  const states = await inspectText(record.format, record.file, text, record.changes);
  const keys = (s: KeyState) =>
    record.changes.filter((_c, i) => states[i] === s).map((c) => c.path.join('.') || '(the whole file)');
  const drifted = keys('drifted');
  const missing = keys('missing');
  return { state: drifted.length ? 'drifted' : missing.length ? 'missing' : 'wired', drifted, missing };
}

export async function collectStatus(run: RunEnv, options: StatusOptions = {}): Promise<StatusReport> {
  await recoverIfInterrupted(run, (fn) => withToolsLock(run, fn));
  const loaded = await loadConfig(run.paths.configFile);
  const { config } = loaded;
  const now = run.now();
  const problems: string[] = [];
  let configError: string | null = null;
  try {
    validateConfig(config, { full: true });
  } catch (err) {
    configError = describeError(err);
    problems.push(`the config file is invalid: ${configError}`);
  }
  const store = Object.values(config.providers).some((p) => p.type === 'oidc')
    ? await openStore(run, { readOnly: true }).catch(() => undefined)
    : undefined;
  const providers = await providerReports(loaded, store, now);
  // Providers that matter: the default one and those the wired tools use.
  const relevant = new Set<string>(config.configured_tools.map((e) => e.provider ?? config.default_provider));
  if (config.providers[config.default_provider]) relevant.add(config.default_provider);
  for (const p of providers) {
    if (!relevant.has(p.name) || p.logged_in) continue;
    const login = hintCommand(run, p.name, config, 'login');
    problems.push(
      p.logged_out
        ? `provider "${p.name}" is logged out: run \`${login}\``
        : `provider "${p.name}" is not logged in: run \`${login}\`${p.type === 'oidc' ? ' (or let a tool sign in on first use)' : ''}`,
    );
  }
  const tools: StatusReport['tools'] = [];
  for (const entry of config.configured_tools) {
    tools.push(await toolStatus(run, config, entry, options));
  }
  for (const t of tools) if (t.state !== 'wired') problems.push(`${t.name} is ${t.state}: ${t.reason}`);
  const proxy = await proxyStatus(run, options);
  return {
    config_file: loaded.file,
    config_exists: loaded.exists,
    managed_config: loaded.managed?.file ?? null,
    config_valid: configError === null,
    config_error: configError,
    default_provider: config.default_provider,
    proxy_port: effectiveProxyPort(config),
    providers,
    tools,
    proxy,
    problems,
  };
}

/** Each provider: settings, login state and token expiry (never a token). */
async function providerReports(
  loaded: LoadedConfig,
  store: SecretStore | undefined,
  now: number,
): Promise<StatusReport['providers']> {
  const { config } = loaded;
  const providers: StatusReport['providers'] = [];
  for (const [name, p] of Object.entries(config.providers)) {
    const login: LoginState =
      p.type === 'oidc'
        ? await oidcLogin(p, store, now)
        : { logged_in: p.logged_out !== true, token_expires_at: null, token_expired: null };
    providers.push({
      name,
      type: p.type,
      gateway_url: p.gateway_url ?? null,
      managed_keys: managedKeysOf(loaded.managed, name),
      configured: usable(name, p, config),
      ...login,
      logged_out: p.logged_out === true,
      identity: p.type === 'oidc' && login.logged_in ? (p.token_ref?.identity ?? null) : null,
      anthropic_path_prefix: p.anthropic_path_prefix ?? null,
      openai_path_prefix: p.openai_path_prefix ?? null,
      models: p.models ?? [],
      bedrock_compat: p.bedrock_compat === true,
      tls_ca_file: p.tls?.ca_file ?? null,
      tls_skip_verify: p.tls?.skip_verify === true,
    });
  }
  return providers;
}

/** The background proxy: recorded, running, answering its health check. */
async function proxyStatus(run: RunEnv, options: StatusOptions): Promise<StatusReport['proxy']> {
  const proxy: StatusReport['proxy'] = { running: false, healthy: false, pid: null, url: null };
  const st = await readProxyState(run.paths);
  if (st) {
    proxy.pid = st.pid;
    proxy.url = st.url;
    proxy.running = processAlive(st.pid);
    try {
      const res = await fetch(new URL(HEALTH_PATH, st.url), {
        signal: AbortSignal.timeout(options.healthTimeoutMs ?? 1500),
      });
      proxy.healthy = res.ok;
      await res.body?.cancel();
    } catch (err) {
      proxy.error = describeError(err);
    }
  }
  return proxy;
}

function usable(name: string, p: Provider, config: GatepassConfig): boolean {
  if (!isProviderConfigured(p)) return false;
  try {
    requireUsableProvider(name, p, config);
    return true;
  } catch {
    return false; // a hand-edited bad value is not "configured"
  }
}

async function toolStatus(
  run: RunEnv,
  config: GatepassConfig,
  entry: GatepassConfig['configured_tools'][number],
  options: StatusOptions,
): Promise<StatusReport['tools'][number]> {
  const provider = entry.provider ?? config.default_provider;
  const files = [];
  const drifted: string[] = [];
  const missing: string[] = [];
  for (const record of fileRecords(entry)) {
    let state: KeyState;
    try {
      const d = await fileDetail(record);
      state = d.state;
      drifted.push(...d.drifted.map((k) => `${k} in ${record.file}`));
      if (d.state === 'missing' && d.missing.length === 0) missing.push(`${record.file} is gone`);
      missing.push(...d.missing.map((k) => `${k} was removed from ${record.file}`));
    } catch (err) {
      state = 'drifted'; // unreadable or malformed now
      drifted.push(`${record.file} cannot be read (${describeError(err)})`);
    }
    files.push({ file: record.file, state });
  }
  const states = files.map((f) => f.state);
  let state: ToolState = states.includes('missing')
    ? 'missing'
    : states.includes('drifted')
      ? 'drifted'
      : 'wired';
  // An MCP server (`mcp:NAME`, #20) is wired again by `mcp add`, not by setup.
  const mcp = isMcpServerEntry(entry);
  const rewire = mcp
    ? hintCommand(
        run,
        provider,
        config,
        `mcp add ${entry.tool.slice(4)} ${String(entry['mcp_url'])} --tools ${mcpEntryTools(entry).join(',')}`,
      )
    : hintCommand(run, provider, config, `setup --tools ${entry.tool}`);
  const unwire = mcp
    ? hintCommand(run, provider, config, `mcp remove ${entry.tool.slice(4)}`)
    : `gatepass teardown ${entry.tool}`;
  let reason: string | null = null;
  let fix: string | null = null;
  if (state === 'missing') {
    reason = `${missing.join('; ') || 'gatepass settings were removed'}`;
    fix = `run \`${rewire}\` to wire it again`;
  } else if (state === 'drifted') {
    reason = `changed since setup: ${drifted.join('; ')}`;
    fix = `run \`${rewire}\` to put gatepass' values back (your change is replaced), or \`${unwire}\` to unwire it`;
  } else if (options.checkHelpers && isHelperSpec(entry['helper']) && run.platform === process.platform) {
    const broken = await checkHelper(entry['helper'], provider, run.env, { platform: run.platform });
    if (broken) {
      state = 'broken';
      reason = `its token helper does not start: ${broken}`;
      fix = `run \`${rewire}\` (it rewrites the launcher to this gatepass)`;
    }
  }
  return {
    tool: entry.tool,
    name: entryLabel(entry),
    mode: entry.mode,
    config_path: entry.config_path,
    provider,
    state,
    reason,
    fix,
    files,
  };
}

function who(id: TokenIdentity | null): string {
  if (!id) return '';
  const main = id.preferred_username ?? id.email ?? id.name ?? id.sub;
  const extra = [
    id.email && id.email !== main ? id.email : '',
    id.sub && id.sub !== main ? `sub ${id.sub}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return ` as ${main}${extra ? ` (${extra})` : ''}`;
}

export function formatStatus(r: StatusReport): string[] {
  const lines = [
    `Config: ${r.config_file}${r.config_exists ? '' : ' (not created yet)'}${r.config_valid ? '' : ` — INVALID: ${r.config_error}`}`,
  ];
  if (r.managed_config) lines.push(`Managed config: ${r.managed_config} (its values win over yours)`);
  if (r.providers.length === 0) lines.push('Providers: none (run `gatepass setup`)');
  for (const p of r.providers) {
    const expiry = p.token_expires_at
      ? `, access token ${p.token_expired ? 'expired at' : 'valid until'} ${p.token_expires_at}${p.token_expired ? ' (refreshed on next use)' : ''}`
      : '';
    const login = p.logged_in
      ? `logged in${who(p.identity)}${expiry}`
      : p.logged_out
        ? 'logged out (run `gatepass login`)'
        : 'not logged in (login pending: the first token request signs in)';
    lines.push(
      `Provider ${p.name}${p.name === r.default_provider ? ' (default)' : ''}: ${p.type}, ${p.gateway_url ?? 'no gateway URL'}${p.configured ? '' : ' (incomplete or invalid)'}, ${p.type === 'oidc' ? login : p.logged_out ? 'logged out (run `gatepass login`)' : 'token from command'}`,
    );
    if (p.managed_keys.length) lines.push(`  managed: ${p.managed_keys.join(', ')}`);
    const layout = [
      p.anthropic_path_prefix ? `Anthropic API under ${p.anthropic_path_prefix}` : '',
      p.openai_path_prefix ? `OpenAI API under ${p.openai_path_prefix}` : '',
      p.models.length ? `models ${p.models.join(', ')}` : '',
      p.bedrock_compat ? 'Bedrock compatibility' : '',
      p.tls_ca_file ? `extra CA ${p.tls_ca_file}` : '',
      p.tls_skip_verify ? 'TLS verification OFF (local development only)' : '',
    ].filter(Boolean);
    if (layout.length) lines.push(`  ${layout.join('; ')}`);
  }
  if (r.tools.length === 0) lines.push('Tools: none configured');
  for (const t of r.tools) {
    const other = t.provider !== r.default_provider ? ` (provider ${t.provider})` : '';
    lines.push(`Tool ${t.name} (${t.mode}): ${t.state} — ${t.config_path}${other}`);
    if (t.reason) lines.push(`  ${t.state}: ${t.reason}`);
    if (t.fix) lines.push(`  fix: ${t.fix}`);
  }
  lines.push(
    r.proxy.pid === null
      ? 'Proxy: not running in the background'
      : `Proxy: ${r.proxy.healthy ? 'running' : r.proxy.running ? 'not answering' : 'not running (stale state)'} (pid ${r.proxy.pid}, ${r.proxy.url})`,
  );
  if (r.problems.length) lines.push(`Problems:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
  else lines.push('Everything is ok.');
  return lines;
}
