/**
 * openid-client plumbing: discovery (with plain http allowed only for loopback issuers), refresh and
 * revocation, and the mapping of every failure to a clear, secret-free AuthError. Discovery documents
 * are cached per issuer (discovery-cache.ts) and reused by refreshes. Loaded lazily —
 * only when the cached access token is not good enough.
 */
import * as oidc from 'openid-client';
import type { OidcProvider } from '../../config/schema.js';
import { isLoopbackHost } from '../../config/validate.js';
import { AuthError } from '../../errors.js';
import { EgressProxyError, egressHint, egressPlan } from '../../net/egress.js';
import { nodeFetch } from '../../net/node-fetch.js';
import { createTlsFetch, resolveTls, tlsErrorCode, tlsHint, warnSkipVerify } from '../../net/tls.js';
import { formatOAuthError, registerSecret, sanitizeOAuthError, stripControl } from '../../redact.js';
import { envSeconds } from '../../util/env.js';
import { assertSafeIdpTokens } from '../token-chars.js';
import type { AuthContext } from '../types.js';
import { loadClientSecret, secretAuth } from './client-secret.js';
import {
  DEFAULT_DISCOVERY_TTL_MS,
  freshnessMs,
  readCachedDiscovery,
  writeCachedDiscovery,
} from './discovery-cache.js';
import { attachResource, refreshParams } from './resource-indicator.js';

export type OidcConfiguration = oidc.Configuration;
export type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

export const DEFAULT_HTTP_TIMEOUT_S = 30;

/** HTTP timeout for IdP requests in seconds: GATEPASS_HTTP_TIMEOUT (seconds, 1–3600) or 30. */
export function httpTimeoutSeconds(env: NodeJS.ProcessEnv): number {
  return envSeconds(env, 'GATEPASS_HTTP_TIMEOUT', DEFAULT_HTTP_TIMEOUT_S, { max: 3600 });
}

/** discover() with the provider's client secret (if it has one) from the context's secret store. */
export async function discoverFor(
  ctx: Pick<AuthContext, 'env' | 'stderr' | 'secrets'> & Partial<Pick<AuthContext, 'paths' | 'now'>>,
  provider: OidcProvider,
  options: { useCache?: boolean } = {},
): Promise<OidcConfiguration> {
  const clientSecret = await loadClientSecret(ctx.secrets, provider);
  const cache = ctx.paths
    ? { paths: ctx.paths, now: ctx.now ?? Date.now, read: Boolean(options.useCache) }
    : undefined;
  // RFC 8707: the refresh grants made with this configuration carry the provider's resource.
  return attachResource(await discover(provider, ctx.env, ctx.stderr, clientSecret, cache), provider);
}

/** Where discover() keeps the document: read it when `read`, (re)write it after every fetch. */
export interface DiscoveryCacheOption {
  paths: Pick<AuthContext['paths'], 'cacheDir'>;
  now: () => number;
  read: boolean;
}

export async function discover(
  provider: OidcProvider,
  env: NodeJS.ProcessEnv,
  stderr: NodeJS.WritableStream = process.stderr,
  clientSecret?: string,
  cache?: DiscoveryCacheOption,
): Promise<OidcConfiguration> {
  const issuer = new URL(provider.oidc.issuer!);
  // Plain http only for an IdP on this machine (tests, local dev IdPs); validation refuses others.
  const insecure = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
  // tls.ca_file / tls.skip_verify and the egress proxy: every later request of this configuration
  // (token, refresh, revocation, device) goes through the same fetch, set here once.
  const tls = resolveTls(provider.tls, env);
  if (tls && !tls.rejectUnauthorized && issuer.protocol === 'https:') warnSkipVerify(stderr, issuer.origin);
  const plan = egressPlan(provider.network, env);
  // Without TLS options or a proxy: node:http(s) instead of Node's fetch (node-fetch.ts: same trust
  // and routing, ~130 ms less CPU for a short-lived process).
  const baseFetch = (tls || plan.active ? await createTlsFetch(tls, plan) : nodeFetch) as oidc.CustomFetch;
  const auth = clientSecret ? secretAuth(clientSecret) : oidc.None();
  const timeout = httpTimeoutSeconds(env);
  const cached = cache?.read ? await readCachedDiscovery(cache.paths, issuer.href, cache.now()) : undefined;
  if (cached) {
    const config = new oidc.Configuration(
      cached as oidc.ServerMetadata,
      provider.oidc.client_id!,
      undefined,
      auth,
    );
    if (insecure) oidc.allowInsecureRequests(config);
    config.timeout = timeout;
    config[oidc.customFetch] = baseFetch;
    return config;
  }
  // The discovery response's caching headers, seen through the fetch of the first request.
  let headers: Headers | undefined;
  const fetchOption = {
    [oidc.customFetch]: (async (url, init) => {
      const res = await baseFetch(url, init);
      headers ??= res.headers as Headers;
      return res;
    }) as oidc.CustomFetch,
  };
  let config: OidcConfiguration;
  try {
    config = await oidc.discovery(issuer, provider.oidc.client_id!, undefined, auth, {
      execute: insecure ? [oidc.allowInsecureRequests] : [],
      timeout,
      ...fetchOption,
    });
  } catch (err) {
    throw mapOidcError(err, `discovery at ${issuer.href}`, provider.oidc.issuer!);
  }
  if (cache) {
    const now = cache.now();
    const ttl = (headers && freshnessMs(headers, now)) ?? DEFAULT_DISCOVERY_TTL_MS;
    await writeCachedDiscovery(cache.paths, issuer.href, config.serverMetadata(), ttl, now).catch(() => {});
  }
  return config;
}

export async function refreshGrant(config: OidcConfiguration, refreshToken: string): Promise<TokenResponse> {
  const tokens = await oidc.refreshTokenGrant(config, refreshToken, refreshParams(config));
  registerTokens(tokens);
  return tokens;
}

export async function revoke(config: OidcConfiguration, refreshToken: string): Promise<boolean> {
  if (!config.serverMetadata().revocation_endpoint) return false;
  await oidc.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
  return true;
}

/** Register the tokens as secrets, then refuse them if an access / ID token is not token-safe. */
export function registerTokens(tokens: oidc.TokenEndpointResponse): void {
  registerSecret(tokens.access_token);
  registerSecret(tokens.refresh_token);
  registerSecret(tokens.id_token);
  assertSafeIdpTokens(tokens);
}

/** The IdP rejected the refresh token (expired, revoked, already rotated). */
export function isInvalidGrant(err: unknown): boolean {
  return err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant';
}

function findCause(err: unknown, pred: (e: unknown) => boolean): unknown {
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur; i++) {
    if (pred(cur)) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Turn any failure talking to the IdP into an AuthError naming what happened, never a secret. */
export function mapOidcError(err: unknown, what: string, issuer: string): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    const e = sanitizeOAuthError(err);
    return new AuthError(
      'E_AUTH_FAILED',
      `the identity provider refused the ${what}: ${formatOAuthError(e)}`,
      {
        cause: err,
        hint: e.error === 'invalid_grant' ? 'run `gatepass login` again' : undefined,
      },
    );
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    const e = sanitizeOAuthError(err);
    return new AuthError('E_AUTH_FAILED', `login failed: ${formatOAuthError(e)}`, { cause: err });
  }
  const tlsCode = tlsErrorCode(err);
  if (tlsCode) {
    return new AuthError(
      'E_TLS',
      `TLS certificate verification failed for the identity provider at ${issuer} (${tlsCode})`,
      { cause: err, hint: tlsHint() },
    );
  }
  // A non-OAuth HTTP answer (a 5xx page, a 404 from a misrouted proxy): openid-client only says
  // "unexpected HTTP response status code"; name the status, and treat 5xx as the IdP being
  // unavailable (transient: the refresh token is kept, queued processes fail fast, retry later).
  const response = findCause(
    err,
    (e) =>
      (typeof Response !== 'undefined' && e instanceof Response) ||
      // undici's own Response, when the TLS options route requests through its fetch
      (e as { [Symbol.toStringTag]?: unknown } | undefined)?.[Symbol.toStringTag] === 'Response',
  ) as Response | undefined;
  if (response && response.status >= 300) {
    const status = `HTTP ${response.status}${response.statusText ? ` ${sanitizeStatusText(response.statusText)}` : ''}`;
    if (response.status >= 500) {
      return new AuthError(
        'E_AUTH_UNAVAILABLE',
        `the identity provider at ${issuer} failed the ${what} with ${status}`,
        { cause: err, hint: 'this is a problem at the identity provider; try again in a moment' },
      );
    }
    return new AuthError(
      'E_AUTH_FAILED',
      `the identity provider at ${issuer} answered the ${what} with ${status}`,
      {
        cause: err,
        hint: 'check the issuer URL (`gatepass config show`) and any proxy between you and the identity provider',
      },
    );
  }
  // Through an egress proxy that is down or refused the tunnel: name the proxy (never its credentials).
  const egress = findCause(err, (e) => e instanceof EgressProxyError) as EgressProxyError | undefined;
  if (egress) {
    return new AuthError(
      'E_AUTH_UNAVAILABLE',
      `cannot reach the identity provider at ${issuer} through the proxy ${egress.proxy} (${egress.reason})`,
      { cause: err, hint: egressHint(egress.source) },
    );
  }
  const timeout = findCause(
    err,
    (e) =>
      (e as Error).name === 'TimeoutError' || (e as NodeJS.ErrnoException).code === 'UND_ERR_CONNECT_TIMEOUT',
  );
  if (timeout) {
    return new AuthError(
      'E_AUTH_TIMEOUT',
      `the identity provider at ${issuer} did not answer the ${what} in time`,
      {
        cause: err,
        hint: 'check your network or VPN; GATEPASS_HTTP_TIMEOUT (seconds) sets the limit',
      },
    );
  }
  const net = findCause(
    err,
    (e) =>
      typeof (e as NodeJS.ErrnoException).code === 'string' &&
      /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!),
  ) as NodeJS.ErrnoException | undefined;
  if (net) {
    return new AuthError(
      'E_AUTH_UNAVAILABLE',
      `cannot reach the identity provider at ${issuer} (${net.code})`,
      {
        cause: err,
        hint: 'check your network or VPN, and the issuer URL (`gatepass config show`)',
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  // openid-client's outer message is generic ("invalid response encountered"); the check that
  // failed (state, iss, nonce, signature…) is in an OAUTH_* cause. Its messages are fixed texts.
  const check = findCause(
    err,
    (e) => e !== err && /^OAUTH_/.test(String((e as { code?: unknown }).code ?? '')),
  ) as Error | undefined;
  const detail = check && check.message !== message ? ` (${check.message})` : '';
  return new AuthError('E_AUTH_FAILED', `${what} failed: ${message}${detail}`, { cause: err });
}

function sanitizeStatusText(text: string): string {
  return stripControl(text, { singleLine: true }).slice(0, 80);
}
