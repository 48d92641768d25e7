// SCAFFOLD (replaced by the oidc provider work).
import type { OidcProvider } from '../../config/schema.js';
import { GatepassError } from '../../errors.js';
import type { LoginOptions, LogoutOptions, LogoutResult } from '../login.js';
import type { AuthContext, TokenResult } from '../types.js';

export async function loginOidcProvider(
  _ctx: AuthContext,
  _name: string,
  _provider: OidcProvider,
  _options: LoginOptions,
): Promise<TokenResult> {
  throw new GatepassError('E_INTERNAL', 'oidc login not built yet');
}

export async function logoutOidcProvider(
  _ctx: AuthContext,
  _name: string,
  _provider: OidcProvider,
  _options: LogoutOptions,
): Promise<LogoutResult> {
  throw new GatepassError('E_INTERNAL', 'oidc logout not built yet');
}
