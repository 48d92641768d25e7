/**
 * The secret-store key of an OIDC provider's tokens, derived from the provider's settings alone (no
 * network): the config store records it in the token fast path's snapshot, auth/oidc/keys.ts
 * re-exports it for the token sources. Kept free of heavy imports (the token fast path loads it).
 */
import { builtin } from '../util/builtin.js';
import { effectiveScopes } from './schema.js';

/** What makes an OIDC provider's tokens different from another's (the provider's config, in effect). */
export interface OidcKeyParts {
  issuer?: string | undefined;
  client_id?: string | undefined;
  audience?: string | undefined;
  resource?: string | undefined;
  scopes?: string[] | undefined;
}

function sha256Hex8(text: string): string {
  // node:crypto is loaded on first use, not at import: the token fast path hashes nothing else and its
  // load is a measurable share of a cache hit's start-up.
  const { createHash } = builtin('node:crypto');
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * The refresh token's key: `LLM_OAUTH_<8 hex of sha256("v2" NUL gateway_url NUL issuer NUL client_id
 * NUL audience NUL sorted effective scopes [NUL resource])>`. Two providers differing in any of these
 * (say, only in their audience or their RFC 8707 resource) get tokens of their own. The resource is
 * appended only when set, so the keys of providers without one are those of earlier versions.
 */
export function oidcSecretKey(gatewayUrl: string, oidc: OidcKeyParts): string {
  // The configured scopes (openid implied), or the defaults: not what discovery later adds or drops
  // (offline_access), so the key is known without a network round trip.
  const scopes = [
    ...new Set(effectiveScopes({ type: 'oidc', oidc: oidc.scopes ? { scopes: oidc.scopes } : {} }, null)),
  ].sort();
  const parts = [
    'v2',
    gatewayUrl,
    oidc.issuer ?? '',
    oidc.client_id ?? '',
    oidc.audience ?? '',
    scopes.join(' '),
  ];
  if (oidc.resource) parts.push(oidc.resource);
  return `LLM_OAUTH_${sha256Hex8(parts.join('\0'))}`;
}

/**
 * The key gatepass used before the client id, audience and scopes were part of it
 * (`sha256(gateway_url NUL issuer)`): tokens stored under it are moved to oidcSecretKey() once.
 */
export function legacyOidcSecretKey(gatewayUrl: string, issuer: string): string {
  return `LLM_OAUTH_${sha256Hex8(`${gatewayUrl}\0${issuer}`)}`;
}
