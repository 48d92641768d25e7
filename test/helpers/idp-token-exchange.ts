/**
 * OAuth 2.0 Token Exchange (RFC 8693) on the test IdP. oidc-provider v9 has no built-in token
 * exchange, but it registers extension grants (`provider.registerGrantType`): this one accepts an
 * access token the IdP itself issued (a JWT verified against its own keys, `aud` the gateway) as the
 * subject token and issues a JWT access token for the requested `resource` (audience = the resource,
 * or `audience` when given), for the same user, through the IdP's own AccessToken model and keys.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const EXCHANGED_TOKEN_TTL = 600;

interface ExchangeContext {
  oidc: {
    params: Record<string, string | undefined>;
    client: unknown;
    provider: Provider & {
      AccessToken: new (
        data: Record<string, unknown>,
      ) => { save(): Promise<string>; expiration: number; resourceServer?: unknown };
      ResourceServer: new (id: string, data: Record<string, unknown>) => unknown;
    };
  };
  body: unknown;
}

export function enableTokenExchange(provider: Provider, issuer: string, gatewayAudience: string): void {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const handler = async (ctx: ExchangeContext) => {
    const p = ctx.oidc.params;
    if (p['subject_token_type'] !== ACCESS_TOKEN_TYPE)
      throw new errors.InvalidRequest('subject_token_type must be an access token');
    if (!p['resource']) throw new errors.InvalidTarget('resource is required');
    let sub: string;
    try {
      const { payload } = await jwtVerify(p['subject_token'] ?? '', jwks, {
        issuer,
        audience: gatewayAudience,
      });
      sub = String(payload.sub);
    } catch {
      throw new errors.InvalidGrant('subject_token is not a valid access token of this IdP');
    }
    const { AccessToken, ResourceServer } = ctx.oidc.provider;
    const audience = p['audience'] || p['resource'];
    const token = new AccessToken({
      accountId: sub,
      client: ctx.oidc.client,
      gty: 'token_exchange',
      scope: 'mcp',
    });
    token.resourceServer = new ResourceServer(p['resource'], {
      audience,
      scope: 'mcp',
      accessTokenTTL: EXCHANGED_TOKEN_TTL,
      accessTokenFormat: 'jwt',
    });
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
    };
  };
  (provider as unknown as { registerGrantType: (...a: unknown[]) => void }).registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    handler,
    ['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience'],
    ['resource'],
  );
}
