// SCAFFOLD (replaced by the OIDC token-source work): keeps the factory compiling meanwhile.
import type { OidcProvider } from '../../config/schema.js';
import { GatepassError } from '../../errors.js';
import type { AuthContext, TokenSource } from '../types.js';

export function createOidcTokenSource(
  _ctx: AuthContext,
  _name: string,
  _provider: OidcProvider,
): TokenSource {
  throw new GatepassError('E_INTERNAL', 'OIDC token source not built yet');
}
