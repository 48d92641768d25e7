/**
 * The proxy's view of a TokenSource: an in-memory token reused while it stays valid, one in-flight
 * fetch shared by every waiting request (single flight: one browser tab for a lazy login, never a
 * flood), a forced refresh after the gateway rejects a token, and a background refresh scheduled
 * before expiry so requests rarely wait.
 */
import type { TokenResult, TokenSource } from '../auth/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { registerSecret } from '../redact.js';

export interface TokenCacheOptions {
  source: TokenSource;
  logger: Logger;
  now?: () => number;
  /** May a request start an interactive login (lazy login)? */
  interactive: boolean;
  /** Refresh this long before expiry (ms). */
  refreshSkewMs?: number;
  /** Reuse a token without an expiry for this long before asking the source again (ms). */
  unknownExpiryReuseMs?: number;
  /** Schedule background refreshes (off in some tests). */
  backgroundRefresh?: boolean;
  /**
   * The background refresh keeps at least this much validity (ms), default 10 min — the same TTL
   * invariant as the tool helpers (the source caps it at half the lifetime of short-lived tokens).
   */
  keepValidMs?: number;
}

export const DEFAULT_KEEP_VALID_MS = 10 * 60_000;

export interface TokenCache {
  /** The current token when it is still valid (the no-wait fast path), else undefined. */
  peek(): TokenResult | undefined;
  /** A valid token; shares any fetch already in flight. */
  get(): Promise<TokenResult>;
  /** The gateway rejected `token`: forget it and fetch a fresh one (shared among callers). */
  replace(token: string): Promise<TokenResult>;
  close(): void;
}

export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const now = options.now ?? Date.now;
  const skew = options.refreshSkewMs ?? 60_000;
  const reuseUnknown = options.unknownExpiryReuseMs ?? 30_000;
  const closing = new AbortController();
  let current: { result: TokenResult; validUntil: number } | undefined;
  let inflight: { promise: Promise<TokenResult>; forced: boolean } | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fresh = () => (current && now() < current.validUntil ? current.result : undefined);

  function schedule(result: TokenResult): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (options.backgroundRefresh === false) return;
    const delays: number[] = [];
    let minValidity = skew;
    if (result.expiresAt !== undefined) {
      // Refresh when `keep` (10 min, at least two skews) remains, asking for a little more validity
      // than that so the source really refreshes; a source that cannot yet (short-lived tokens: it
      // requires half their lifetime at most) returns the same token, and is not asked in a tight loop.
      const keep = Math.max(options.keepValidMs ?? DEFAULT_KEEP_VALID_MS, 2 * skew);
      const left = result.expiresAt - now();
      delays.push(Math.max(left - keep, Math.min(30_000, left / 2), 1_000));
      minValidity = keep + 5_000;
    }
    // The source's own renewal schedule (a command provider's auth.refresh_interval), if any.
    if (result.refreshAt !== undefined) delays.push(Math.max(result.refreshAt - now(), 1_000));
    if (!delays.length) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        fetchShared(false, false, minValidity).catch((err: unknown) => {
          options.logger.debug(`proxy: background token refresh failed: ${describeError(err)}`);
        });
      },
      Math.min(...delays),
    );
    timer.unref();
  }

  function fetchShared(
    forceRefresh: boolean,
    interactive: boolean,
    minValidityMs = skew,
  ): Promise<TokenResult> {
    if (inflight && (inflight.forced || !forceRefresh)) return inflight.promise;
    const promise = options.source
      .getToken({ interactive, forceRefresh, minValidityMs, signal: closing.signal })
      .then((result) => {
        registerSecret(result.token);
        const validUntil = Math.min(
          result.expiresAt !== undefined ? result.expiresAt - skew : now() + reuseUnknown,
          result.refreshAt ?? Number.POSITIVE_INFINITY,
        );
        current = { result, validUntil };
        schedule(result);
        return result;
      })
      .finally(() => {
        if (inflight?.promise === promise) inflight = undefined;
      });
    inflight = { promise, forced: forceRefresh };
    return promise;
  }

  return {
    peek: fresh,
    async get() {
      return fresh() ?? fetchShared(false, options.interactive);
    },
    async replace(token) {
      const cur = fresh();
      // Another request already replaced it.
      if (cur && cur.token !== token) return cur;
      if (current?.result.token === token) current = undefined;
      options.source.invalidate(token);
      if (inflight) {
        const r = await inflight.promise.catch(() => undefined);
        if (r && r.token !== token) return r;
      }
      return fetchShared(true, options.interactive);
    },
    close() {
      if (timer) clearTimeout(timer);
      closing.abort();
    },
  };
}
