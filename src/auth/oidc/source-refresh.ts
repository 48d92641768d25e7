/**
 * Tier 3 of the OIDC token source: the refresh token in the secret store, redeemed under the
 * provider's cross-process lock. The store is re-read once the lock is held, so N processes racing
 * on an expired token cause ONE refresh grant and the rotated refresh token is never used twice;
 * `invalid_grant` clears the stale tokens; an unreachable IdP is memoed for the queued processes
 * (source-failure.ts) and the cached access token is served while it has not expired.
 * openid-client loads only here, when a grant is needed.
 */
import { promises as fsp } from 'node:fs';
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { withFileLock } from '../../util/lock.js';
import type { TokenResult } from '../types.js';
import { readFailure, writeFailure } from './source-failure.js';
import { type Held, held, type OidcSourceState, readCached, result, usable } from './source-state.js';
import { migrateLegacyTokens } from './token-store.js';

/** A token refreshed (or found cached under the lock), or undefined when a login is needed. */
export async function refresh(
  s: OidcSourceState,
  minValidity: number,
  skip: Set<string>,
): Promise<TokenResult | undefined> {
  const { ctx, name, provider, secretKey } = s;
  const waitStart = ctx.now();
  return withFileLock(s.lockFile, async () => {
    if (await migrateLegacyTokens(ctx, provider, secretKey)) {
      const { persistTokenRef } = await import('./persist.js');
      const exp = provider.token_ref?.expires_at;
      await persistTokenRef(ctx, name, provider, secretKey, exp === undefined ? undefined : exp * 1000);
    }
    // Another process may have refreshed while we waited for the lock.
    const cached = await readCached(s);
    if (usable(s, cached, minValidity) && !skip.has(cached.token)) {
      s.memory = cached;
      return result(cached, 'cache');
    }
    const refreshToken = await ctx.secrets.get(secretKey);
    if (!refreshToken) return undefined;
    registerSecret(refreshToken);
    // A process ahead of us in the queue failed to reach the IdP while we waited: fail the same
    // way instead of making every queued process wait out its own timeout. (A fresh invocation
    // always retries.)
    const recent = await readFailure(s.failureFile, waitStart);
    if (recent) {
      if (cached && !skip.has(cached.token) && usable(s, cached, 0)) {
        s.memory = cached;
        return result(cached, 'cache');
      }
      throw new AuthError(recent.code, recent.message, { hint: recent.hint });
    }
    return refreshGrant(s, refreshToken, cached, skip);
  });
}

/** The refresh grant itself, holding the lock; `cached` is what the store held (maybe still valid). */
async function refreshGrant(
  s: OidcSourceState,
  refreshToken: string,
  cached: Held | undefined,
  skip: Set<string>,
): Promise<TokenResult | undefined> {
  const { ctx, name, provider, secretKey } = s;
  const client = await import('./client.js');
  const { saveTokens } = await import('./persist.js');
  try {
    s.discovery ??= client.discoverFor(ctx, provider, { useCache: true }).catch((err: unknown) => {
      s.discovery = undefined;
      throw err;
    });
    const tokens = await client.refreshGrant(await s.discovery, refreshToken);
    const saved = await saveTokens(ctx, name, provider, secretKey, tokens);
    await fsp.rm(s.failureFile, { force: true }).catch(() => {});
    ctx.logger.debug(`refreshed the access token for provider "${name}"`);
    s.memory = held(saved);
    return result(s.memory, 'refresh');
  } catch (err) {
    // The cached discovery document may be what is wrong (the token endpoint moved): refetch.
    if (!client.isInvalidGrant(err)) {
      s.discovery = undefined;
      const { forgetDiscovery } = await import('./discovery-cache.js');
      await forgetDiscovery(ctx.paths, provider.oidc.issuer ?? '');
    }
    if (client.isInvalidGrant(err)) {
      // The refresh token expired, was revoked, or was already rotated: it will never work again.
      ctx.logger.warn(
        `the identity provider rejected the stored refresh token for "${name}" (invalid_grant); a new login is needed`,
      );
      await ctx.secrets.delete(secretKey);
      await ctx.secrets.delete(s.atKey);
      s.memory = undefined;
      return undefined;
    }
    const mapped = client.mapOidcError(err, 'refresh', provider.oidc.issuer ?? '');
    if (mapped.code === 'E_AUTH_UNAVAILABLE' || mapped.code === 'E_AUTH_TIMEOUT') {
      await writeFailure(s.failureFile, ctx.now(), mapped);
    }
    // The IdP is unreachable but the cached token has not expired yet: better than nothing.
    if (cached && !skip.has(cached.token) && usable(s, cached, 0)) {
      ctx.logger.warn(`${mapped.message}; using the cached access token until it expires`);
      s.memory = cached;
      return result(cached, 'cache');
    }
    throw mapped;
  }
}
