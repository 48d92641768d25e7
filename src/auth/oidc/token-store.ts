/**
 * Where an OIDC provider's tokens live: the secret-store key of its refresh token (the access token
 * sits under accessTokenKey of it), the lock file guarding its refresh and login, and the one-time
 * move of tokens stored under the key of older gatepass versions.
 */
import path from 'node:path';
import type { OidcProvider } from '../../config/schema.js';
import { registerSecret } from '../../redact.js';
import type { AuthContext } from '../types.js';
import { accessTokenKey, legacyOidcSecretKey, oidcSecretKey } from './keys.js';

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
