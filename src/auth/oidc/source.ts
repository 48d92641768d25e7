/**
 * The OIDC token source, four tiers, cheapest first (`getToken` and `slowPath` below):
 *
 *  1. the access token held in memory (long-lived consumers such as the proxy);
 *  2. the access token cached in the secret store (shared by every gatepass process);
 *  3. the refresh token in the secret store — refreshed under a cross-process lock, re-reading the
 *     store once the lock is held, so N processes racing on an expired token cause ONE refresh grant
 *     and the rotated refresh token is never used twice; `invalid_grant` clears the stale token
 *     (source-refresh.ts);
 *  4. the browser login, only when interactive (under its own lock: one browser tab, not N;
 *     source-login.ts).
 *
 * The source's state is one named object (source-state.ts) the steps take first. Tiers 1–2 import
 * nothing heavy: openid-client loads only when a grant is needed.
 */

import type { OidcProvider } from '../../config/schema.js';
import { AuthError } from '../../errors.js';
import { refuseWhenLoggedOut } from '../logged-out.js';
import type { AuthContext, TokenRequest, TokenResult, TokenSource } from '../types.js';
import { login } from './source-login.js';
import { refresh } from './source-refresh.js';
import {
  createSourceState,
  type OidcSourceOptions,
  type OidcSourceState,
  readCached,
  result,
  usable,
} from './source-state.js';

export { type OidcSourceOptions, requiredValidity } from './source-state.js';
export {
  DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_REFRESH_SKEW_MS,
  LOGIN_TIMEOUT_ENV,
  loginTimeoutMs,
} from './timeouts.js';
export { migrateLegacyTokens, providerSecretKey, tokenLockFile } from './token-store.js';

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

export function createOidcTokenSource(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  options: OidcSourceOptions = {},
): TokenSource {
  const s = createSourceState(ctx, name, provider, options);
  return {
    providerName: name,
    getToken: (request: TokenRequest = {}) => getToken(s, request),
    invalidate: (token: string) => invalidate(s, token),
  };
}

/** Tiers 1 (memory) and 2 (cache) here; then the slow path, one at a time within this process. */
async function getToken(s: OidcSourceState, request: TokenRequest): Promise<TokenResult> {
  const { ctx, name } = s;
  const minValidity = request.minValidityMs ?? s.skew;
  const skip = new Set<string>();
  if (!request.forceRefresh) {
    if (usable(s, s.memory, minValidity)) return result(s.memory, 'memory');
    const cached = await readCached(s);
    if (usable(s, cached, minValidity)) {
      s.memory = cached;
      return result(cached, 'cache');
    }
    if (request.cacheOnly) throw cacheMissError(name);
  } else {
    if (request.cacheOnly) throw cacheMissError(name);
    // Whatever we would have returned is what the caller wants replaced.
    if (s.memory) skip.add(s.memory.token);
    const cached = await readCached(s);
    if (cached) skip.add(cached.token);
  }
  // One slow path at a time within this process (the proxy serves many requests at once).
  const joined = s.inflight !== undefined;
  s.inflight ??= slowPath(s, request, minValidity, skip).finally(() => {
    s.inflight = undefined;
  });
  try {
    return await s.inflight;
  } catch (err) {
    // We joined a non-interactive caller's attempt, but this caller may log in.
    if (joined && (request.interactive ?? ctx.interactive) && (err as AuthError).code === 'E_AUTH_REQUIRED') {
      return login(s, request, minValidity, skip);
    }
    throw err;
  }
}

/** Tier 3 (refresh), then tier 4 (login) when the caller is interactive and not logged out. */
async function slowPath(
  s: OidcSourceState,
  request: TokenRequest,
  minValidity: number,
  skip: Set<string>,
): Promise<TokenResult> {
  const { ctx, name, provider } = s;
  const refreshed = await refresh(s, minValidity, skip);
  if (refreshed) return refreshed;
  // Logged out by the user: no login on a tool's behalf, interactive or not.
  await refuseWhenLoggedOut(ctx, name, provider);
  const interactive = request.interactive ?? ctx.interactive;
  if (!interactive) throw authRequiredError(name, name === ctx.config.default_provider);
  return login(s, request, minValidity, skip);
}

function invalidate(s: OidcSourceState, token: string): void {
  s.rejected.add(token);
  if (s.memory?.token === token) s.memory = undefined;
  // Also drop it from the shared cache so other processes stop handing it out.
  void readCached(s)
    .then((cached) => (cached?.token === token ? s.ctx.secrets.delete(s.atKey) : false))
    .catch(() => {});
}
