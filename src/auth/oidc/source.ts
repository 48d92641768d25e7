/**
 * The OIDC token source, four tiers, cheapest first:
 *
 *  1. the access token held in memory (long-lived consumers such as the proxy);
 *  2. the access token cached in the secret store (shared by every gatepass process);
 *  3. the refresh token in the secret store — refreshed under a cross-process lock, re-reading the
 *     store once the lock is held, so N processes racing on an expired token cause ONE refresh grant
 *     and the rotated refresh token is never used twice; `invalid_grant` clears the stale token;
 *  4. the browser login, only when interactive (under its own lock: one browser tab, not N).
 *
 * Tiers 1–2 import nothing heavy: openid-client loads only when a grant is needed.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OidcProvider } from '../../config/schema.js';
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { envSeconds } from '../../util/env.js';
import { withFileLock } from '../../util/lock.js';
import { refuseWhenLoggedOut } from '../logged-out.js';
import type { AuthContext, TokenRequest, TokenResult, TokenSource } from '../types.js';
import { accessTokenKey, legacyOidcSecretKey, oidcSecretKey, parseCachedToken } from './keys.js';

export const DEFAULT_REFRESH_SKEW_MS = 60_000;
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;
export const LOGIN_TIMEOUT_ENV = 'GATEPASS_LOGIN_TIMEOUT';

/**
 * How long an interactive login (browser or device) waits: GATEPASS_LOGIN_TIMEOUT (seconds) or
 * 5 minutes. It applies wherever a login can start: `login`, `token`, `proxy`, `setup`.
 */
export function loginTimeoutMs(env: NodeJS.ProcessEnv): number {
  return envSeconds(env, LOGIN_TIMEOUT_ENV, DEFAULT_LOGIN_TIMEOUT_MS / 1000) * 1000;
}

export interface OidcSourceOptions {
  /** Refresh this long before expiry (default 60 s). */
  refreshSkewMs?: number;
  /** Timeout of the interactive login (default: loginTimeoutMs(env), 5 min). */
  loginTimeoutMs?: number;
  /** providerSecretKey(provider), when the caller has it already (the token fast path's snapshot). */
  secretKey?: string;
}

interface Held {
  token: string;
  expiresAt?: number;
  issuedAt?: number;
}

/**
 * The validity a token must still have. A caller may ask for more than the IdP ever gives (the tool
 * helpers ask for 10 min; some IdPs issue 5-min tokens): then at most half the token's lifetime is
 * required, so a fresh token is served instead of refreshing on every call.
 */
export function requiredValidity(t: Held, minValidity: number): number {
  if (t.expiresAt === undefined || t.issuedAt === undefined || t.expiresAt <= t.issuedAt) return minValidity;
  return Math.min(minValidity, (t.expiresAt - t.issuedAt) / 2);
}

/** The secret-store key of a provider's refresh token. */
export function providerSecretKey(provider: OidcProvider): string {
  return oidcSecretKey(provider.gateway_url ?? '', provider.oidc);
}

/**
 * Tokens stored under the key of older gatepass versions (gateway + issuer only) are moved to the
 * provider's key once, so upgrading keeps the sign-in. Only when the new key holds nothing: a token
 * of the new key is never overwritten. Call it holding the provider's token lock.
 */
export async function migrateLegacyTokens(
  ctx: Pick<AuthContext, 'secrets' | 'logger'>,
  provider: OidcProvider,
  secretKey: string,
): Promise<boolean> {
  const legacy = legacyOidcSecretKey(provider.gateway_url ?? '', provider.oidc.issuer ?? '');
  if (legacy === secretKey) return false;
  // One read at a time: the first read of a store may fall back (keychain → files) and say so once.
  const rt = await ctx.secrets.get(legacy);
  const at = await ctx.secrets.get(accessTokenKey(legacy));
  if (!rt && !at) return false;
  const newRt = await ctx.secrets.get(secretKey);
  const newAt = await ctx.secrets.get(accessTokenKey(secretKey));
  // The new key has tokens of its own: the legacy ones may be another provider's (they shared it).
  if (newRt || newAt) return false;
  registerSecret(rt);
  if (rt) await ctx.secrets.set(secretKey, rt);
  if (at) await ctx.secrets.set(accessTokenKey(secretKey), at);
  await ctx.secrets.delete(legacy);
  await ctx.secrets.delete(accessTokenKey(legacy));
  ctx.logger.debug(`moved the stored tokens from ${legacy} to ${secretKey}`);
  return true;
}

/** Lock file guarding refresh (and login) of one secret key, in the state dir. */
export function tokenLockFile(ctx: Pick<AuthContext, 'paths'>, secretKey: string): string {
  return path.join(ctx.paths.stateDir, 'locks', secretKey);
}

export function authRequiredError(name: string, isDefault: boolean): AuthError {
  const cmd = isDefault ? 'gatepass login' : `gatepass login --provider ${name}`;
  return new AuthError('E_AUTH_REQUIRED', `authentication required: run \`${cmd}\``, {
    hint: 'or pass --interactive to `gatepass token` to log in from here',
  });
}

/** A `cacheOnly` request found no usable cached token. */
export function cacheMissError(name: string): AuthError {
  return new AuthError('E_AUTH_REQUIRED', `no usable cached token for provider "${name}"`);
}

interface FailureMemo {
  at: number;
  code: 'E_AUTH_UNAVAILABLE' | 'E_AUTH_TIMEOUT';
  message: string;
  hint?: string;
}

/** A failure recorded at or after `since` (when the caller started waiting for the lock). */
async function readFailure(file: string, since: number): Promise<FailureMemo | undefined> {
  try {
    const memo = JSON.parse(await readFile(file, 'utf8')) as FailureMemo;
    return typeof memo.at === 'number' && memo.at >= since ? memo : undefined;
  } catch {
    return undefined;
  }
}

async function writeFailure(file: string, now: number, err: AuthError): Promise<void> {
  const memo: FailureMemo = {
    at: now,
    code: err.code as FailureMemo['code'],
    message: err.message,
    ...(err.hint ? { hint: err.hint } : {}),
  };
  await writeFile(file, JSON.stringify(memo), { mode: 0o600 }).catch(() => {});
}

function held(saved: { token: string; expiresAt?: number; issuedAt: number }): Held {
  return saved.expiresAt === undefined
    ? { token: saved.token }
    : { token: saved.token, expiresAt: saved.expiresAt, issuedAt: saved.issuedAt };
}

export function createOidcTokenSource(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  options: OidcSourceOptions = {},
): TokenSource {
  const skew = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  const secretKey = options.secretKey ?? providerSecretKey(provider);
  const atKey = accessTokenKey(secretKey);
  const lockFile = tokenLockFile(ctx, secretKey);
  const failureFile = `${lockFile}.failed`;
  const rejected = new Set<string>();
  let memory: Held | undefined;
  let inflight: Promise<TokenResult> | undefined;
  let discovery: Promise<import('./client.js').OidcConfiguration> | undefined;

  const usable = (t: Held | undefined, minValidity: number): t is Held =>
    t !== undefined &&
    !rejected.has(t.token) &&
    (t.expiresAt === undefined || t.expiresAt - ctx.now() > requiredValidity(t, minValidity));
  const result = (t: Held, origin: TokenResult['origin']): TokenResult =>
    t.expiresAt === undefined
      ? { token: t.token, origin }
      : { token: t.token, expiresAt: t.expiresAt, origin };
  const readCached = async (): Promise<Held | undefined> => parseCachedToken(await ctx.secrets.get(atKey));

  async function refresh(minValidity: number, skip: Set<string>): Promise<TokenResult | undefined> {
    const waitStart = ctx.now();
    return withFileLock(lockFile, async () => {
      if (await migrateLegacyTokens(ctx, provider, secretKey)) {
        const { persistTokenRef } = await import('./persist.js');
        const exp = provider.token_ref?.expires_at;
        await persistTokenRef(ctx, name, provider, secretKey, exp === undefined ? undefined : exp * 1000);
      }
      // Another process may have refreshed while we waited for the lock.
      const cached = await readCached();
      if (usable(cached, minValidity) && !skip.has(cached.token)) {
        memory = cached;
        return result(cached, 'cache');
      }
      const refreshToken = await ctx.secrets.get(secretKey);
      if (!refreshToken) return undefined;
      registerSecret(refreshToken);
      // A process ahead of us in the queue failed to reach the IdP while we waited: fail the same
      // way instead of making every queued process wait out its own timeout. (A fresh invocation
      // always retries.)
      const recent = await readFailure(failureFile, waitStart);
      if (recent) {
        if (cached && !skip.has(cached.token) && usable(cached, 0)) {
          memory = cached;
          return result(cached, 'cache');
        }
        throw new AuthError(recent.code, recent.message, { hint: recent.hint });
      }
      const client = await import('./client.js');
      const { saveTokens } = await import('./persist.js');
      try {
        discovery ??= client.discoverFor(ctx, provider, { useCache: true }).catch((err: unknown) => {
          discovery = undefined;
          throw err;
        });
        const tokens = await client.refreshGrant(await discovery, refreshToken);
        const saved = await saveTokens(ctx, name, provider, secretKey, tokens);
        await rm(failureFile, { force: true }).catch(() => {});
        ctx.logger.debug(`refreshed the access token for provider "${name}"`);
        memory = held(saved);
        return result(memory, 'refresh');
      } catch (err) {
        // The cached discovery document may be what is wrong (the token endpoint moved): refetch.
        if (!client.isInvalidGrant(err)) {
          discovery = undefined;
          const { forgetDiscovery } = await import('./discovery-cache.js');
          await forgetDiscovery(ctx.paths, provider.oidc.issuer ?? '');
        }
        if (client.isInvalidGrant(err)) {
          // The refresh token expired, was revoked, or was already rotated: it will never work again.
          ctx.logger.warn(
            `the identity provider rejected the stored refresh token for "${name}" (invalid_grant); a new login is needed`,
          );
          await ctx.secrets.delete(secretKey);
          await ctx.secrets.delete(atKey);
          memory = undefined;
          return undefined;
        }
        const mapped = client.mapOidcError(err, 'refresh', provider.oidc.issuer ?? '');
        if (mapped.code === 'E_AUTH_UNAVAILABLE' || mapped.code === 'E_AUTH_TIMEOUT') {
          await writeFailure(failureFile, ctx.now(), mapped);
        }
        // The IdP is unreachable but the cached token has not expired yet: better than nothing.
        if (cached && !skip.has(cached.token) && usable(cached, 0)) {
          ctx.logger.warn(`${mapped.message}; using the cached access token until it expires`);
          memory = cached;
          return result(cached, 'cache');
        }
        throw mapped;
      }
    });
  }

  async function login(request: TokenRequest, minValidity: number, skip: Set<string>): Promise<TokenResult> {
    // One login at a time per provider: concurrent callers wait, then find the new token cached.
    const timeoutMs = options.loginTimeoutMs ?? loginTimeoutMs(ctx.env);
    await refuseWhenLoggedOut(ctx, name, provider);
    return withFileLock(
      `${lockFile}.login`,
      async () => {
        // Someone else logged in while we waited for the lock.
        const cached = await readCached();
        if (usable(cached, minValidity) && !skip.has(cached.token)) {
          memory = cached;
          return result(cached, 'cache');
        }
        const { browserLogin } = await import('./flow.js');
        const { saveTokens } = await import('./persist.js');
        const tokens = await browserLogin(ctx, provider, {
          timeoutMs,
          ...(request.signal ? { signal: request.signal } : {}),
        });
        const saved = await withFileLock(lockFile, () => saveTokens(ctx, name, provider, secretKey, tokens));
        if (!saved.refreshStored) {
          ctx.logger.warn(
            'the identity provider issued no refresh token: you will need to log in again once it expires',
          );
        }
        memory = held(saved);
        return result(memory, 'login');
      },
      { waitMs: timeoutMs + 60_000 },
    );
  }

  async function slowPath(
    request: TokenRequest,
    minValidity: number,
    skip: Set<string>,
  ): Promise<TokenResult> {
    const refreshed = await refresh(minValidity, skip);
    if (refreshed) return refreshed;
    // Logged out by the user: no login on a tool's behalf, interactive or not.
    await refuseWhenLoggedOut(ctx, name, provider);
    const interactive = request.interactive ?? ctx.interactive;
    if (!interactive) throw authRequiredError(name, name === ctx.config.default_provider);
    return login(request, minValidity, skip);
  }

  return {
    providerName: name,
    async getToken(request: TokenRequest = {}): Promise<TokenResult> {
      const minValidity = request.minValidityMs ?? skew;
      const skip = new Set<string>();
      if (!request.forceRefresh) {
        if (usable(memory, minValidity)) return result(memory, 'memory');
        const cached = await readCached();
        if (usable(cached, minValidity)) {
          memory = cached;
          return result(cached, 'cache');
        }
        if (request.cacheOnly) throw cacheMissError(name);
      } else {
        if (request.cacheOnly) throw cacheMissError(name);
        // Whatever we would have returned is what the caller wants replaced.
        if (memory) skip.add(memory.token);
        const cached = await readCached();
        if (cached) skip.add(cached.token);
      }
      // One slow path at a time within this process (the proxy serves many requests at once).
      const joined = inflight !== undefined;
      inflight ??= slowPath(request, minValidity, skip).finally(() => {
        inflight = undefined;
      });
      try {
        return await inflight;
      } catch (err) {
        // We joined a non-interactive caller's attempt, but this caller may log in.
        if (
          joined &&
          (request.interactive ?? ctx.interactive) &&
          (err as AuthError).code === 'E_AUTH_REQUIRED'
        ) {
          return login(request, minValidity, skip);
        }
        throw err;
      }
    },
    invalidate(token: string): void {
      rejected.add(token);
      if (memory?.token === token) memory = undefined;
      // Also drop it from the shared cache so other processes stop handing it out.
      void readCached()
        .then((cached) => (cached?.token === token ? ctx.secrets.delete(atKey) : false))
        .catch(() => {});
    },
  };
}
