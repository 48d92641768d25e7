/**
 * Doctor's local checks and the end-to-end one: the config (valid, owned by you), the login
 * callback port, the secret store, the stored token (presence, expiry, claims — never the token),
 * a live authenticated `GET /v1/models` at the gateway with the stored or refreshable token (never
 * a browser, never an interactive login), each wired tool's token helper (status's helper check),
 * and the background proxy's health.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import { accessTokenKey, parseCachedToken } from '../auth/oidc/keys.js';
import { providerSecretKey } from '../auth/oidc/source.js';
import { effectiveCallbackPort } from '../config/schema.js';
import { describeError, GatepassError } from '../errors.js';
import { getProxyStatus } from '../proxy/control.js';
import { authContext, hintCommand, openStore } from '../setup/common.js';
import { checkHelper, isHelperSpec } from '../setup/helper-check.js';
import { clean, requestFailure } from './checks-net.js';
import { type Check, type DoctorContext, fail, pass, skip, warn } from './context.js';

const cmd = (d: DoctorContext, sub: string): string =>
  `\`${hintCommand(d.run, d.providerName, d.config!, sub)}\``;

export const checkConfig: Check = async (d) => {
  if (d.configProblem) return fail(d.configProblem.summary, d.configProblem.fix);
  const file = d.run.paths.configFile;
  let mode = '';
  try {
    mode = `, mode ${(statSync(file).mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch {
    // checked by loading it
  }
  return pass(`${file} is valid and owned by you${mode}; provider "${d.providerName}" (${d.provider!.type})`);
};

function portBusy(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

export const checkCallbackPort: Check = async (d) => {
  const p = d.provider;
  if (p?.type !== 'oidc') return skip(p ? 'command provider: no login callback' : 'no provider to check');
  const port = effectiveCallbackPort(p);
  if (port === 0) return pass('callback_port 0: an ephemeral port is picked at login');
  const host = p.oidc.redirect_host ?? '127.0.0.1';
  const busy = await portBusy('127.0.0.1', port);
  if (busy) {
    return fail(
      `login callback port ${port} (http://${host}:${port}/callback) is not free (${busy})`,
      `stop the program holding port ${port}, or ${cmd(d, 'config set --callback-port <port>')} (and register that redirect URI)`,
    );
  }
  return pass(`login callback port ${port} is free (http://${host}:${port}/callback)`);
};

export const checkSecretStore: Check = async (d) => {
  const which = d.run.env['GATEPASS_SECRET_STORE']?.trim().toLowerCase() || 'default';
  try {
    const store = await openStore(d.run, { readOnly: true });
    // The first operation decides between the keychain and the file fallback.
    await store.get(d.provider?.type === 'oidc' ? providerSecretKey(d.provider) : 'GATEPASS_DOCTOR_PROBE');
    d.store = store;
    const keychain =
      store.kind === 'keychain'
        ? 'OS keychain reachable'
        : which === 'default'
          ? 'no OS keychain reachable'
          : '';
    return pass(`${store.kind}: ${clean(store.description)}${keychain ? ` (${keychain})` : ''}`);
  } catch (err) {
    return fail(
      `the secret store (${which}) is not usable: ${describeError(err)}`,
      err instanceof GatepassError && err.hint
        ? err.hint
        : 'unset GATEPASS_SECRET_STORE to fall back to private files, or set it to "file"',
    );
  }
};

/** aud, scope and exp of a JWT (not verified: the gateway does that); undefined when opaque. */
function claims(token: string): { aud?: unknown; scope?: unknown; exp?: unknown } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return { aud: c['aud'], scope: c['scope'] ?? c['scp'], exp: c['exp'] };
  } catch {
    return undefined;
  }
}

const isoDate = (exp: unknown): string =>
  typeof exp === 'number' && Number.isFinite(exp * 1000) && Math.abs(exp) < 1e11
    ? new Date(exp * 1000).toISOString()
    : '-';

const list = (v: unknown): string =>
  clean(
    Array.isArray(v) ? v.join(' ') : typeof v === 'string' || typeof v === 'number' ? String(v) : '-',
    120,
  );

export const checkToken: Check = async (d) => {
  const p = d.provider;
  if (p?.type !== 'oidc')
    return skip(p ? 'command provider: its command supplies the token' : 'no provider to check');
  if (!d.store) return skip('no usable secret store (see above)');
  const login = cmd(d, 'login');
  if (p.logged_out) return fail(`provider "${d.providerName}" is logged out`, `run ${login}`);
  const key = providerSecretKey(p);
  const refresh = Boolean(await d.store.get(key));
  const cached = parseCachedToken(await d.store.get(accessTokenKey(key)));
  const now = d.run.now();
  if (!refresh && !cached) return fail('no token stored: not logged in', `run ${login}`);
  const parts = [refresh ? 'refresh token stored' : 'no refresh token'];
  let expired = false;
  if (cached) {
    expired = cached.expiresAt !== undefined && cached.expiresAt <= now;
    parts.push(
      cached.expiresAt === undefined
        ? 'access token (no expiry)'
        : `access token ${expired ? 'expired at' : 'valid until'} ${new Date(cached.expiresAt).toISOString()}`,
    );
    const c = claims(cached.token);
    parts.push(
      c ? `aud ${list(c.aud)}, scope ${list(c.scope)}, exp ${isoDate(c.exp)}` : 'opaque access token',
    );
    const want = p.oidc.audience;
    const aud = c?.aud;
    if (want && c && !(Array.isArray(aud) ? aud.includes(want) : aud === want)) {
      return warn(
        `${parts.join('; ')}: not for the configured audience ${want}`,
        `run ${login} to get a token for it`,
      );
    }
  }
  if (!refresh && (expired || !cached)) return fail(`${parts.join('; ')}: nothing usable`, `run ${login}`);
  if (!refresh)
    return warn(parts.join('; '), `when it expires you must log in again; ${login} with offline_access`);
  return pass(parts.join('; ') + (expired ? ' (refreshed on next use)' : ''));
};

function modelsUrl(gateway: string, prefix: string | undefined): string {
  return `${gateway.replace(/\/$/, '')}${prefix ?? ''}/v1/models`;
}

export const checkGateway: Check = async (d) => {
  const p = d.provider;
  if (!p?.gateway_url || !d.config) return skip('no provider to check');
  if (d.unreachable.has(new URL(p.gateway_url).origin))
    return skip('the gateway is not reachable (see above)');
  if (p.type === 'oidc' && !d.store) return skip('no usable secret store (see above)');
  let token: string;
  try {
    const { createTokenSource } = await import('../auth/factory.js');
    const store = d.store ?? (await openStore(d.run, { readOnly: true }));
    const ctx = authContext(d.run, d.config, store, { interactive: false, skipBrowser: true });
    const source = await createTokenSource(ctx, d.providerName, p);
    token = (await source.getToken({ interactive: false })).token;
  } catch (err) {
    const hint = err instanceof GatepassError && err.code !== 'E_AUTH_REQUIRED' ? err.hint : undefined;
    return fail(`no token for the gateway call: ${describeError(err)}`, hint ?? `run ${cmd(d, 'login')}`);
  }
  const url = modelsUrl(p.gateway_url, p.openai_path_prefix);
  let res: Response;
  try {
    res = await d.fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(d.timeoutMs),
    });
  } catch (err) {
    return fail(`GET ${url} failed: ${requestFailure(err).what}`, 'see the network checks above');
  }
  const status = `HTTP ${res.status}${res.statusText ? ` ${clean(res.statusText, 60)}` : ''}`;
  if (res.ok) {
    let models = '';
    try {
      const body = (await res.json()) as { data?: unknown };
      if (Array.isArray(body?.data)) models = `, ${body.data.length} models`;
    } catch {
      // not JSON: the call still authenticated
    }
    return pass(`GET ${url}: ${status}${models}`);
  }
  await res.body?.cancel();
  if (res.status === 401 || res.status === 403) {
    return fail(
      `GET ${url}: ${status}: the gateway rejected the token`,
      `run ${cmd(d, 'login')}; if it persists the gateway wants another audience or scopes (${cmd(d, 'config set --audience …')})`,
    );
  }
  if (res.status === 404) {
    return warn(
      `GET ${url}: ${status}: no model list here`,
      'check the gateway URL and path prefix (`gatepass config show`)',
    );
  }
  return fail(`GET ${url}: ${status}`, 'a problem at the gateway: try again later, or check the gateway URL');
};

export const checkHelpers: Check = async (d) => {
  if (!d.config) return skip('no config');
  const tools = d.config.configured_tools.filter(
    (t) => (t.provider ?? d.config!.default_provider) === d.providerName,
  );
  const withHelper = tools.flatMap((t) =>
    isHelperSpec(t['helper']) ? [{ tool: t.tool, helper: t['helper'] }] : [],
  );
  if (withHelper.length === 0) {
    return tools.length
      ? pass(`no token helpers (${tools.map((t) => t.tool).join(', ')} use the proxy)`)
      : skip('no tools wired for this provider');
  }
  const broken: string[] = [];
  const ok: string[] = [];
  for (const t of withHelper) {
    if (d.run.platform !== process.platform) continue;
    const why = await checkHelper(t.helper, d.providerName, d.run.env, {
      platform: d.run.platform,
    });
    if (why) broken.push(`${t.tool}: ${clean(why, 200)}`);
    else ok.push(t.tool);
  }
  if (broken.length) {
    const names = withHelper.map((t) => t.tool).join(',');
    return fail(
      `token helper does not start: ${broken.join('; ')}`,
      `run ${cmd(d, `setup --tools ${names}`)} (it rewrites the launcher)`,
    );
  }
  return pass(`token helpers start: ${ok.join(', ')}`);
};

export const checkProxy: Check = async (d) => {
  if (!d.config) return skip('no config');
  const needed = d.config.configured_tools
    .filter((t) => t.mode === 'proxy' && (t.provider ?? d.config!.default_provider) === d.providerName)
    .map((t) => t.tool);
  const st = await getProxyStatus(d.run.paths);
  const start = cmd(d, 'proxy start');
  if (!st.running) {
    const what = st.stale ? 'not running (stale state file)' : 'not running';
    return needed.length
      ? fail(
          `the proxy is ${what}; ${needed.join(', ')} ${needed.length > 1 ? 'need' : 'needs'} it`,
          `run ${start}`,
        )
      : pass(`the proxy is ${what} (no tool of this provider needs it)`);
  }
  const served = st.state?.provider;
  const where = `pid ${st.state!.pid}, ${st.state!.url}`;
  if (served && served !== d.providerName && needed.length) {
    return warn(
      `the proxy (${where}) serves provider "${clean(served, 60)}", not "${d.providerName}"`,
      `stop it and run ${start}`,
    );
  }
  return pass(
    `the proxy is running and healthy (${where}${served ? `, provider ${clean(served, 60)}` : ''})`,
  );
};
