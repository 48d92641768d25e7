/** What is stored for an OIDC provider, without revealing any token (for `gatepass status`). */
import type { OidcProvider } from '../../config/schema.js';
import type { SecretStore } from '../../secrets/types.js';
import { accessTokenKey, oidcSecretKey, parseCachedToken } from './keys.js';

export interface OidcTokenStatus {
  secretKey: string;
  /** A refresh token is stored (the provider can get new tokens without a browser). */
  hasRefreshToken: boolean;
  /** A cached access token exists. */
  hasAccessToken: boolean;
  /** Its expiry, epoch ms, when known. */
  accessTokenExpiresAt?: number;
}

export async function oidcTokenStatus(
  secrets: SecretStore,
  provider: OidcProvider,
): Promise<OidcTokenStatus> {
  const secretKey = oidcSecretKey(provider.gateway_url ?? '', provider.oidc);
  const [refresh, cached] = await Promise.all([
    secrets.get(secretKey),
    secrets.get(accessTokenKey(secretKey)).then(parseCachedToken),
  ]);
  return {
    secretKey,
    hasRefreshToken: Boolean(refresh),
    hasAccessToken: Boolean(cached),
    ...(cached?.expiresAt === undefined ? {} : { accessTokenExpiresAt: cached.expiresAt }),
  };
}
