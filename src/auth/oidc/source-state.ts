/**
 * The named state of one OIDC token source (source.ts): what it was built for (context, provider,
 * secret keys, lock and failure files, options) and what it holds between calls (the token in
 * memory, the tokens a consumer rejected, the slow path in flight, the discovery document). The
 * steps (source-refresh.ts, source-login.ts) take it first. Also the pure rules of a held token:
 * when it is still usable, and the result that serves it.
 */
import type { OidcProvider } from '../../config/schema.js';
import type { AuthContext, TokenResult } from '../types.js';
import type { OidcConfiguration } from './client.js';
import { accessTokenKey, parseCachedToken } from './keys.js';
import { DEFAULT_REFRESH_SKEW_MS } from './timeouts.js';
import { providerSecretKey, tokenLockFile } from './token-store.js';

export interface OidcSourceOptions {
  /** Refresh this long before expiry (default 60 s). */
  refreshSkewMs?: number;
  /** Timeout of the interactive login (default: loginTimeoutMs(env), 5 min). */
  loginTimeoutMs?: number;
  /** providerSecretKey(provider), when the caller has it already (the token fast path's snapshot). */
  secretKey?: string;
}

export interface Held {
  token: string;
  expiresAt?: number;
  issuedAt?: number;
}

export interface OidcSourceState {
  readonly ctx: AuthContext;
  readonly name: string;
  readonly provider: OidcProvider;
  readonly options: OidcSourceOptions;
  /** Refresh this long before expiry unless the request says otherwise. */
  readonly skew: number;
  /** The refresh token's key in the secret store. */
  readonly secretKey: string;
  /** The access token's key in the secret store (shared by every gatepass process). */
  readonly atKey: string;
  /** Cross-process lock of refresh (and, with `.login`, of login). */
  readonly lockFile: string;
  /** The `.failed` memo: the IdP was unreachable moments ago (source-failure.ts). */
  readonly failureFile: string;
  /** Tokens a consumer reported as refused (invalidate). */
  readonly rejected: Set<string>;
  /** Tier 1: the access token held in memory. */
  memory: Held | undefined;
  /** One slow path at a time within this process. */
  inflight: Promise<TokenResult> | undefined;
  /** The discovery document, fetched once per source (forgotten when a refresh fails). */
  discovery: Promise<OidcConfiguration> | undefined;
}

export function createSourceState(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  options: OidcSourceOptions,
): OidcSourceState {
  const secretKey = options.secretKey ?? providerSecretKey(provider);
  const lockFile = tokenLockFile(ctx, secretKey);
  return {
    ctx,
    name,
    provider,
    options,
    skew: options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS,
    secretKey,
    atKey: accessTokenKey(secretKey),
    lockFile,
    failureFile: `${lockFile}.failed`,
    rejected: new Set<string>(),
    memory: undefined,
    inflight: undefined,
    discovery: undefined,
  };
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

export function usable(s: OidcSourceState, t: Held | undefined, minValidity: number): t is Held {
  return (
    t !== undefined &&
    !s.rejected.has(t.token) &&
    (t.expiresAt === undefined || t.expiresAt - s.ctx.now() > requiredValidity(t, minValidity))
  );
}

export function result(t: Held, origin: TokenResult['origin']): TokenResult {
  return t.expiresAt === undefined
    ? { token: t.token, origin }
    : { token: t.token, expiresAt: t.expiresAt, origin };
}

/** Tier 2: the access token cached in the secret store. */
export async function readCached(s: OidcSourceState): Promise<Held | undefined> {
  return parseCachedToken(await s.ctx.secrets.get(s.atKey));
}

export function held(saved: { token: string; expiresAt?: number; issuedAt: number }): Held {
  return saved.expiresAt === undefined
    ? { token: saved.token }
    : { token: saved.token, expiresAt: saved.expiresAt, issuedAt: saved.issuedAt };
}
