/**
 * Provider-type-agnostic login and logout, used by `gatepass login|logout`, `gatepass setup`
 * (non-lazy) and `gatepass teardown`. Implementations load lazily per provider type.
 */
import type { Provider } from '../config/schema.js';
import type { AuthContext, TokenResult } from './types.js';

export interface LoginOptions {
  /** Use the device authorization grant (RFC 8628) instead of the browser (OIDC only). */
  device?: boolean;
  /** Print the URL and read the redirect address the user pastes (OIDC only; a remote browser). */
  paste?: boolean;
  /** Overall timeout for the interactive step, ms (default 5 min). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LogoutOptions {
  /** Revoke the refresh token at the IdP when it has a revocation endpoint (OIDC only). */
  revoke?: boolean;
}

export interface LogoutResult {
  /** Something was deleted from the secret store / cache. */
  deleted: boolean;
  /** The refresh token was revoked at the IdP. */
  revoked: boolean;
}

export async function loginProvider(
  ctx: AuthContext,
  name: string,
  provider: Provider,
  options: LoginOptions = {},
): Promise<TokenResult> {
  if (provider.type === 'command') {
    const { loginCommandProvider } = await import('./command/login.js');
    return loginCommandProvider(ctx, name, provider, options);
  }
  const { loginOidcProvider } = await import('./oidc/login.js');
  return loginOidcProvider(ctx, name, provider, options);
}

export async function logoutProvider(
  ctx: AuthContext,
  name: string,
  provider: Provider,
  options: LogoutOptions = {},
): Promise<LogoutResult> {
  if (provider.type === 'command') {
    const { logoutCommandProvider } = await import('./command/login.js');
    return logoutCommandProvider(ctx, name, provider, options);
  }
  const { logoutOidcProvider } = await import('./oidc/login.js');
  return logoutOidcProvider(ctx, name, provider, options);
}
