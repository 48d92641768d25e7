/**
 * Build the token source for a provider. Implementations are imported lazily so a command only
 * loads the code for the provider type it uses.
 */
import type { Provider } from '../config/schema.js';
import type { AuthContext, TokenSource } from './types.js';

export async function createTokenSource(
  ctx: AuthContext,
  providerName: string,
  provider: Provider,
): Promise<TokenSource> {
  if (provider.type === 'command') {
    const { createCommandTokenSource } = await import('./command/source.js');
    return createCommandTokenSource(ctx, providerName, provider);
  }
  const { createOidcTokenSource } = await import('./oidc/source.js');
  return createOidcTokenSource(ctx, providerName, provider);
}
