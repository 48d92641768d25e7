/**
 * The named state of one command provider's token source (source.ts): what it was built for
 * (context, provider, cache and failure files, command timeout) and what it holds between calls
 * (the token in memory, the tokens a consumer rejected, the fetch in flight). The steps
 * (source-acquire.ts, run-and-store.ts) take it first. Also the pure rules of a held token: when it
 * is still usable, how a cache entry becomes one, and the result that serves it.
 */
import type { CommandProvider } from '../../config/schema.js';
import { DEFAULT_COMMAND_TIMEOUT_S } from '../../config/schema.js';
import type { AuthContext, TokenResult } from '../types.js';
import { type CacheEntry, cacheFilePath } from './cache.js';
import { jwtExpiry } from './parse.js';

/** A token is renewed when less than this remains. */
export const REFRESH_SKEW_MS = 60_000;
/** How long a token is trusted when neither its output, its JWT nor auth.token_ttl states an expiry. */
export const UNKNOWN_EXPIRY_TTL_MS = 300_000;

/** Set for the commands we run, so a gatepass they start for the same cache can detect the loop. */
export const RUNNING_VAR = 'GATEPASS_RUNNING_TOKEN_COMMAND';

export interface Held {
  token: string;
  /** Known expiry (epoch ms). */
  expiresAt?: number;
  /** When it was obtained (epoch ms): for unknown expiries and refresh_interval. */
  obtainedAt: number;
}

export type Kind = 'token' | 'refresh';

export interface CommandSourceState {
  readonly ctx: AuthContext;
  readonly name: string;
  readonly provider: CommandProvider;
  readonly auth: CommandProvider['auth'];
  /** The token cache file (auth.token_cache or the default), also the cross-process lock. */
  readonly cacheFile: string;
  /** `<cache>.failed`: the last token_command failure (source-failure.ts). */
  readonly failureFile: string;
  /** auth.timeout in ms. */
  readonly timeoutMs: number;
  /** Tokens a consumer reported as refused (invalidate). */
  readonly invalidated: Set<string>;
  /** The token last served, held in memory. */
  memory: Held | undefined;
  /** One fetch at a time within this process. */
  inflight: Promise<TokenResult> | undefined;
}

export function createSourceState(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
): CommandSourceState {
  const auth = provider.auth;
  const cacheFile = cacheFilePath(ctx.paths, ctx.env, name, provider);
  return {
    ctx,
    name,
    provider,
    auth,
    cacheFile,
    failureFile: `${cacheFile}.failed`,
    timeoutMs: (auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000,
    invalidated: new Set<string>(),
    memory: undefined,
    inflight: undefined,
  };
}

export function usable(s: CommandSourceState, h: Held, minValidityMs: number): boolean {
  if (s.invalidated.has(h.token)) return false;
  const now = s.ctx.now();
  const expiry = h.expiresAt ?? h.obtainedAt + UNKNOWN_EXPIRY_TTL_MS;
  // A caller wanting more validity than the command's tokens ever have (10 min asked, 5 min
  // tokens) would otherwise re-run the command on every call: ask for at most half the lifetime.
  const lifetime = expiry - h.obtainedAt;
  const wanted = lifetime > 0 ? Math.min(minValidityMs, lifetime / 2) : minValidityMs;
  if (expiry - now <= wanted) return false;
  if (s.auth.refresh_interval && now - h.obtainedAt >= s.auth.refresh_interval * 1000) return false;
  return true;
}

export function fromCache(s: CommandSourceState, entry: CacheEntry, mtimeMs: number): Held {
  const { auth } = s;
  const obtained = Number(entry.metadata['obtained_at']);
  const held: Held = {
    token: entry.token,
    obtainedAt: Number.isFinite(obtained) && obtained > 0 ? obtained * 1000 : mtimeMs,
  };
  // A cache written by the command itself may state no expiry: same fallbacks as for its output.
  const expiresAt =
    entry.expiresAt ??
    jwtExpiry(entry.token) ??
    (auth.token_ttl !== undefined ? held.obtainedAt + auth.token_ttl * 1000 : undefined);
  if (expiresAt !== undefined) held.expiresAt = expiresAt;
  return held;
}

/** Serve `h` (and hold it in memory). */
export function result(s: CommandSourceState, h: Held, origin: TokenResult['origin']): TokenResult {
  s.memory = h;
  const out: TokenResult = { token: h.token, origin };
  if (h.expiresAt !== undefined) out.expiresAt = h.expiresAt;
  // Long-running consumers (the proxy) come back by then, so the refresh happens on schedule.
  if (s.auth.refresh_interval) out.refreshAt = h.obtainedAt + s.auth.refresh_interval * 1000;
  return out;
}

export const label = (s: CommandSourceState, kind: Kind) => `${kind}_command of provider "${s.name}"`;
