/**
 * The OIDC client secret, for IdPs whose native/desktop clients have one (Google): kept in the secret
 * store under `LLM_OIDC_CS_<8 hex of sha256(issuer + "\0" + client_id)>`; the config's
 * `oidc.client_secret` holds only that key. Sent with `client_secret_basic`, or `client_secret_post`
 * when the IdP's discovery lists only that one in `token_endpoint_auth_methods_supported`.
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { OidcProvider } from '../../config/schema.js';
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import type { SecretStore } from '../../secrets/types.js';

export function clientSecretKey(issuer: string, clientId: string): string {
  const hex = createHash('sha256').update(`${issuer}\0${clientId}`).digest('hex').slice(0, 8);
  return `LLM_OIDC_CS_${hex}`;
}

/** The provider's client secret from the secret store, or undefined when it has none configured. */
export async function loadClientSecret(
  secrets: Pick<SecretStore, 'get'>,
  provider: OidcProvider,
): Promise<string | undefined> {
  const key = provider.oidc.client_secret;
  if (!key) return undefined;
  const secret = await secrets.get(key);
  if (!secret) {
    throw new AuthError('E_AUTH_FAILED', `the client secret (${key}) is missing from the secret store`, {
      hint: 'store it again: `gatepass config set --client-secret-stdin` (reads it from stdin)',
    });
  }
  registerSecret(secret);
  return secret;
}

/**
 * Client authentication chosen per request from the IdP's metadata: `client_secret_basic` when it
 * is listed (or nothing is, its default per RFC 8414), else `client_secret_post`.
 */
export function secretAuth(secret: string): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(secret);
  const post = oidc.ClientSecretPost(secret);
  return (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const useBasic =
      !Array.isArray(methods) ||
      methods.includes('client_secret_basic') ||
      !methods.includes('client_secret_post');
    return (useBasic ? basic : post)(as, client, body, headers);
  };
}
