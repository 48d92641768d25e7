/**
 * Tier 4 of the OIDC token source: the browser login, only when the caller is interactive, under
 * its own lock (`<lock>.login`: one browser tab, not N). Whoever waited for the lock first looks for
 * the token the holder just stored. The login flow (openid-client) loads only here.
 */
import { withFileLock } from '../../util/lock.js';
import { refuseWhenLoggedOut } from '../logged-out.js';
import type { TokenRequest, TokenResult } from '../types.js';
import { held, type OidcSourceState, readCached, result, usable } from './source-state.js';
import { loginTimeoutMs } from './timeouts.js';

export async function login(
  s: OidcSourceState,
  request: TokenRequest,
  minValidity: number,
  skip: Set<string>,
): Promise<TokenResult> {
  const { ctx, name, provider, secretKey } = s;
  // One login at a time per provider: concurrent callers wait, then find the new token cached.
  const timeoutMs = s.options.loginTimeoutMs ?? loginTimeoutMs(ctx.env);
  await refuseWhenLoggedOut(ctx, name, provider);
  return withFileLock(
    `${s.lockFile}.login`,
    async () => {
      // Someone else logged in while we waited for the lock.
      const cached = await readCached(s);
      if (usable(s, cached, minValidity) && !skip.has(cached.token)) {
        s.memory = cached;
        return result(cached, 'cache');
      }
      const { browserLogin } = await import('./flow.js');
      const { saveTokens } = await import('./persist.js');
      const tokens = await browserLogin(ctx, provider, {
        timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      const saved = await withFileLock(s.lockFile, () => saveTokens(ctx, name, provider, secretKey, tokens));
      if (!saved.refreshStored) {
        ctx.logger.warn(
          'the identity provider issued no refresh token: you will need to log in again once it expires',
        );
      }
      s.memory = held(saved);
      return result(s.memory, 'login');
    },
    { waitMs: timeoutMs + 60_000 },
  );
}
