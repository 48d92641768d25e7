/**
 * `gatepass status`: configuration (no secrets), login state and token expiry (from the token
 * reference, never the token), each configured tool's wiring state, and the proxy.
 */
import { effectiveProxyPort, isProviderConfigured } from '../config/schema.js';
import { loadConfig } from '../config/store.js';
import { describeError } from '../errors.js';
import { HEALTH_PATH, processAlive, readProxyState } from '../proxy/state.js';
import { inspectFile } from '../tools/edit/file.js';
import type { KeyState } from '../tools/edit/types.js';
import { findTool } from '../tools/index.js';
import { fileRecords, type RunEnv, withToolsLock } from './common.js';
import { recoverIfInterrupted } from './journal.js';

export interface StatusReport {
  config_file: string;
  config_exists: boolean;
  default_provider: string;
  proxy_port: number;
  providers: Array<{
    name: string;
    type: string;
    gateway_url: string | null;
    configured: boolean;
    logged_in: boolean;
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
    state: KeyState;
    files: Array<{ file: string; state: KeyState }>;
  }>;
  proxy: { running: boolean; healthy: boolean; pid: number | null; url: string | null; error?: string };
}

export async function collectStatus(
  run: RunEnv,
  options: { healthTimeoutMs?: number } = {},
): Promise<StatusReport> {
  await recoverIfInterrupted(run, (fn) => withToolsLock(run, fn));
  const loaded = await loadConfig(run.paths.configFile);
  const { config } = loaded;
  const now = run.now();
  const providers = Object.entries(config.providers).map(([name, p]) => {
    const ref = p.type === 'oidc' ? p.token_ref : undefined;
    const exp = ref?.expires_at;
    return {
      name,
      type: p.type,
      gateway_url: p.gateway_url ?? null,
      configured: isProviderConfigured(p),
      logged_in: Boolean(ref?.secret_key),
      token_expires_at: exp ? new Date(exp * 1000).toISOString() : null,
      token_expired: exp ? exp * 1000 <= now : null,
      anthropic_path_prefix: p.anthropic_path_prefix ?? null,
      openai_path_prefix: p.openai_path_prefix ?? null,
      models: p.models ?? [],
      bedrock_compat: p.bedrock_compat === true,
      tls_ca_file: p.tls?.ca_file ?? null,
      tls_skip_verify: p.tls?.skip_verify === true,
    };
  });
  const tools: StatusReport['tools'] = [];
  for (const entry of config.configured_tools) {
    const files = [];
    for (const record of fileRecords(entry)) {
      let state: KeyState;
      try {
        state = await inspectFile(record);
      } catch {
        state = 'drifted'; // unreadable or malformed now
      }
      files.push({ file: record.file, state });
    }
    const states = files.map((f) => f.state);
    const state: KeyState = states.includes('missing')
      ? 'missing'
      : states.includes('drifted')
        ? 'drifted'
        : 'wired';
    tools.push({
      tool: entry.tool,
      name: findTool(entry.tool)?.name ?? entry.tool,
      mode: entry.mode,
      config_path: entry.config_path,
      state,
      files,
    });
  }
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
  return {
    config_file: loaded.file,
    config_exists: loaded.exists,
    default_provider: config.default_provider,
    proxy_port: effectiveProxyPort(config),
    providers,
    tools,
    proxy,
  };
}

export function formatStatus(r: StatusReport): string[] {
  const lines = [`Config: ${r.config_file}${r.config_exists ? '' : ' (not created yet)'}`];
  if (r.providers.length === 0) lines.push('Providers: none (run `gatepass setup`)');
  for (const p of r.providers) {
    const login = p.logged_in
      ? `logged in${p.token_expires_at ? `, token ${p.token_expired ? 'expired' : 'valid until'} ${p.token_expires_at}` : ''}`
      : 'not logged in';
    lines.push(
      `Provider ${p.name}${p.name === r.default_provider ? ' (default)' : ''}: ${p.type}, ${p.gateway_url ?? 'no gateway URL'}${p.configured ? '' : ' (incomplete)'}, ${p.type === 'oidc' ? login : 'token from command'}`,
    );
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
  for (const t of r.tools) lines.push(`Tool ${t.name} (${t.mode}): ${t.state} — ${t.config_path}`);
  lines.push(
    r.proxy.pid === null
      ? 'Proxy: not running in the background'
      : `Proxy: ${r.proxy.healthy ? 'running' : r.proxy.running ? 'not answering' : 'not running (stale state)'} (pid ${r.proxy.pid}, ${r.proxy.url})`,
  );
  return lines;
}
