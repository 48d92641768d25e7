/**
 * Provider-type-agnostic login and logout, used by `gatepass login|logout`, `gatepass setup`
 * (non-lazy) and `gatepass teardown`. Implementations load lazily per provider type; their options and
 * result types are types.ts' (so the implementations need not import this module).
 */
import type { Provider } from '../config/schema.js';
import type { AuthContext, LoginOptions, LogoutOptions, LogoutResult, TokenResult } from './types.js';

export type { LoginOptions, LogoutOptions, LogoutResult } from './types.js';

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
