/**
 * Secret-store keys of an OIDC provider's tokens (the refresh token's key is derived in
 * config/token-keys.ts, re-exported here), and the cached access-token record. Kept free of heavy
 * imports: `gatepass token` on a cache hit loads only this and the source.
 */
import { registerSecret } from '../../redact.js';

export { legacyOidcSecretKey, type OidcKeyParts, oidcSecretKey } from '../../config/token-keys.js';

/** Key of the cached access token (a JSON record) next to the refresh token's key. */
export function accessTokenKey(secretKey: string): string {
  return `${secretKey}_AT`;
}

/** What the `_AT` entry holds. `expires_at` is epoch seconds, like the config's token_ref. */
export interface CachedAccessToken {
  access_token: string;
  expires_at?: number;
  /** When it was obtained (epoch seconds): with expires_at, the token's lifetime. */
  issued_at?: number;
}

export function serializeCachedToken(
  token: string,
  expiresAtMs: number | undefined,
  issuedAtMs?: number,
): string {
  const record: CachedAccessToken = { access_token: token };
  if (expiresAtMs !== undefined) record.expires_at = Math.floor(expiresAtMs / 1000);
  if (issuedAtMs !== undefined) record.issued_at = Math.floor(issuedAtMs / 1000);
  return JSON.stringify(record);
}

/** Parse an `_AT` entry; anything malformed counts as "no cached token". */
export function parseCachedToken(
  text: string | undefined,
): { token: string; expiresAt?: number; issuedAt?: number } | undefined {
  if (!text) return undefined;
  try {
    const rec = JSON.parse(text) as Partial<CachedAccessToken>;
    if (typeof rec.access_token !== 'string' || rec.access_token === '') return undefined;
    registerSecret(rec.access_token);
    const out: { token: string; expiresAt?: number; issuedAt?: number } = { token: rec.access_token };
    if (typeof rec.expires_at === 'number') out.expiresAt = rec.expires_at * 1000;
    const issued = typeof rec.issued_at === 'number' ? rec.issued_at * 1000 : jwtIssuedAt(rec.access_token);
    if (issued !== undefined) out.issuedAt = issued;
    return out;
  } catch {
    return undefined;
  }
}

/** `iat` of a JWT (epoch ms), for records written before issued_at existed. */
function jwtIssuedAt(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iat?: unknown };
    return typeof payload.iat === 'number' ? payload.iat * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Expiry of a JWT access token from its `exp` claim (epoch ms), for IdPs that omit `expires_in`.
 * The token is not verified here: the gateway does that; we only decide when to refresh.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    // Only a plausible expiry: 0, negative or astronomically large (Infinity once in ms) ones would
    // make the cache treat the token as expired forever or valid forever.
    const exp = payload.exp;
    return typeof exp === 'number' && exp > 0 && Number.isFinite(exp * 1000) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
