/**
 * The token an MCP server gets: the provider's own token (the same sign-in as the LLM gateway), or —
 * when the OIDC provider sets `mcp.token_exchange: true` — a token for the MCP server's own audience
 * obtained with OAuth 2.0 Token Exchange (RFC 8693) at the IdP's token endpoint, the provider's token
 * as the subject token and the server URL as the resource (RFC 8707; plus `audience` when the server
 * was added with `--audience`). Exchanged tokens are cached like access tokens (an `_AT` entry, so
 * the default store keeps them in the 0600 access-token cache file), bound to a hash of the subject
 * token: a new sign-in (or a logout, which fails the subject token first) never reuses them.
 */
import { createHash } from 'node:crypto';
import { createTokenSource } from '../auth/factory.js';
import type { AuthContext, TokenSource } from '../auth/types.js';
import type { OidcProvider, Provider } from '../config/schema.js';
import { AuthError } from '../errors.js';
import { registerSecret } from '../redact.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface McpTarget {
  name: string;
  url: string;
  audience?: string;
}

/** Does this provider exchange its token per MCP server? */
export function exchangesTokens(provider: Provider): provider is OidcProvider {
  const mcp = (provider as { mcp?: { token_exchange?: unknown } }).mcp;
  return provider.type === 'oidc' && mcp?.token_exchange === true;
}

function cacheKey(providerName: string, target: McpTarget): string {
  const id = createHash('sha256').update(`${providerName}\0${target.name}\0${target.url}`).digest('hex');
  return `LLM_MCP_${id.slice(0, 16)}_AT`;
}

const subjectHash = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 32);

interface CachedExchange {
  access_token: string;
  expires_at?: number;
  subject: string;
}

/** Leave at least this much validity on a cached exchanged token (ms). */
const MIN_VALID_MS = 60_000;

export interface McpTokenOptions {
  interactive: boolean;
  /** Reuse a token source (the proxy's); default a new one for the provider. */
  source?: TokenSource;
  /** The provider's token in hand (the proxy's cache); skips asking the source. */
  subjectToken?: string;
}

export async function mcpToken(
  ctx: AuthContext,
  providerName: string,
  provider: Provider,
  target: McpTarget,
  options: McpTokenOptions,
): Promise<string> {
  const subject =
    options.subjectToken ??
    (
      await (options.source ?? (await createTokenSource(ctx, providerName, provider))).getToken({
        interactive: options.interactive,
      })
    ).token;
  registerSecret(subject);
  if (!exchangesTokens(provider)) return subject;
  const key = cacheKey(providerName, target);
  const cached = parseExchange(await ctx.secrets.get(key).catch(() => undefined));
  const now = ctx.now();
  if (
    cached &&
    cached.subject === subjectHash(subject) &&
    (cached.expires_at === undefined || cached.expires_at * 1000 - now > MIN_VALID_MS)
  ) {
    return cached.access_token;
  }
  const { token, expiresAt } = await exchange(ctx, provider, subject, target);
  const record: CachedExchange = {
    access_token: token,
    ...(expiresAt !== undefined ? { expires_at: Math.floor(expiresAt / 1000) } : {}),
    subject: subjectHash(subject),
  };
  await ctx.secrets.set(key, JSON.stringify(record)).catch((err: unknown) => {
    ctx.logger.debug(`could not cache the exchanged token: ${(err as Error).message}`);
  });
  return token;
}

function parseExchange(text: string | undefined): CachedExchange | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<CachedExchange>;
    if (typeof v.access_token !== 'string' || !v.access_token || typeof v.subject !== 'string')
      return undefined;
    registerSecret(v.access_token);
    return v as CachedExchange;
  } catch {
    return undefined;
  }
}

async function exchange(
  ctx: AuthContext,
  provider: OidcProvider,
  subject: string,
  target: McpTarget,
): Promise<{ token: string; expiresAt?: number }> {
  const { discoverFor, mapOidcError } = await import('../auth/oidc/client.js');
  const oidc = await import('openid-client');
  const config = await discoverFor(ctx, provider, { useCache: true });
  const supported = config.serverMetadata().grant_types_supported;
  if (Array.isArray(supported) && !supported.includes(TOKEN_EXCHANGE_GRANT)) {
    throw new AuthError(
      'E_AUTH_FAILED',
      `the identity provider at ${provider.oidc.issuer} does not offer token exchange (RFC 8693), and mcp.token_exchange is on`,
      {
        hint: 'ask the IdP admin to enable token exchange for this client, or `gatepass config set --mcp-token-exchange false` to send the provider token itself',
      },
    );
  }
  const params: Record<string, string> = {
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    resource: target.url,
    ...(target.audience ? { audience: target.audience } : {}),
  };
  let res: Awaited<ReturnType<typeof oidc.genericGrantRequest>>;
  try {
    res = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, params);
  } catch (err) {
    throw mapOidcError(err, `token exchange for MCP server "${target.name}"`, provider.oidc.issuer!);
  }
  registerSecret(res.access_token);
  const expiresIn = res.expiresIn();
  return {
    token: res.access_token,
    ...(expiresIn !== undefined ? { expiresAt: ctx.now() + expiresIn * 1000 } : {}),
  };
}
