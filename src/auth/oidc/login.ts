/**
 * `gatepass login` / `gatepass logout` for OIDC providers: the browser (or device) login, saving
 * the tokens, and logout that revokes the refresh token at the IdP when it has a revocation
 * endpoint, then deletes the cached tokens and the config's token reference.
 */
import type { OidcProvider } from '../../config/schema.js';
import { registerSecret } from '../../redact.js';
import { withFileLock } from '../../util/lock.js';
import type { AuthContext, LoginOptions, LogoutOptions, LogoutResult, TokenResult } from '../types.js';
import { discoverFor, mapOidcError, revoke } from './client.js';
import { browserLogin, deviceLogin } from './flow.js';
import { accessTokenKey } from './keys.js';
import { clearTokenRef, saveTokens } from './persist.js';
import { loginTimeoutMs, migrateLegacyTokens, providerSecretKey, tokenLockFile } from './source.js';

export async function loginOidcProvider(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  options: LoginOptions = {},
): Promise<TokenResult> {
  const flowOptions = {
    timeoutMs: options.timeoutMs ?? loginTimeoutMs(ctx.env),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.paste ? { paste: true } : {}),
  };
  const tokens = options.device
    ? await deviceLogin(ctx, provider, flowOptions)
    : await browserLogin(ctx, provider, flowOptions);
  const secretKey = providerSecretKey(provider);
  const saved = await withFileLock(tokenLockFile(ctx, secretKey), () =>
    saveTokens(ctx, name, provider, secretKey, tokens),
  );
  if (!saved.refreshStored) {
    ctx.logger.warn(
      "the identity provider issued no refresh token (is offline_access allowed for this client? Google needs `--auth-params 'access_type=offline&prompt=consent'`): you will need to log in again once it expires",
    );
  }
  return saved.expiresAt === undefined
    ? { token: saved.token, origin: 'login' }
    : { token: saved.token, expiresAt: saved.expiresAt, origin: 'login' };
}

export async function logoutOidcProvider(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  options: LogoutOptions = {},
): Promise<LogoutResult> {
  const secretKey = providerSecretKey(provider);
  return withFileLock(tokenLockFile(ctx, secretKey), async () => {
    // Tokens still under the key of an older gatepass are this provider's too: revoke and delete them.
    await migrateLegacyTokens(ctx, provider, secretKey);
    const refreshToken = await ctx.secrets.get(secretKey);
    registerSecret(refreshToken);
    let revoked = false;
    if (refreshToken && options.revoke !== false) {
      try {
        revoked = await revoke(await discoverFor(ctx, provider), refreshToken);
        if (!revoked) ctx.logger.debug('the identity provider has no revocation endpoint');
      } catch (err) {
        // Logging out locally must still work when the IdP is unreachable.
        ctx.logger.warn(
          `could not revoke the refresh token: ${mapOidcError(err, 'revocation', provider.oidc.issuer ?? '').message}`,
        );
      }
    }
    const deletedRt = await ctx.secrets.delete(secretKey);
    const deletedAt = await ctx.secrets.delete(accessTokenKey(secretKey));
    const hadRef = provider.token_ref !== undefined;
    // Always recorded, also when nothing was stored: logged out means no login on a tool's behalf.
    await clearTokenRef(ctx, name, provider);
    return { deleted: deletedRt || deletedAt || hadRef, revoked };
  });
}
