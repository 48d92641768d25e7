import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accessTokenKey,
  jwtExpiry,
  oidcSecretKey,
  parseCachedToken,
  serializeCachedToken,
} from '../../src/auth/oidc/keys.js';

describe('secret keys', () => {
  it('derives LLM_OAUTH_<8 hex of sha256(gateway_url NUL issuer)>', () => {
    const hex = createHash('sha256').update('https://gw.example.com\0https://sso.example.com').digest('hex');
    expect(oidcSecretKey('https://gw.example.com', 'https://sso.example.com')).toBe(
      `LLM_OAUTH_${hex.slice(0, 8)}`,
    );
    expect(oidcSecretKey('https://gw.example.com', 'https://sso.example.com')).toMatch(
      /^LLM_OAUTH_[0-9a-f]{8}$/,
    );
    // The separator matters: "ab"+"c" and "a"+"bc" must not collide.
    expect(oidcSecretKey('ab', 'c')).not.toBe(oidcSecretKey('a', 'bc'));
    expect(accessTokenKey('LLM_OAUTH_12345678')).toBe('LLM_OAUTH_12345678_AT');
  });

  it('round-trips the cached access token record in epoch seconds', () => {
    const text = serializeCachedToken('tok-abcdefgh', 1_700_000_000_999);
    expect(JSON.parse(text)).toEqual({ access_token: 'tok-abcdefgh', expires_at: 1_700_000_000 });
    expect(parseCachedToken(text)).toEqual({ token: 'tok-abcdefgh', expiresAt: 1_700_000_000_000 });
    expect(parseCachedToken(serializeCachedToken('tok-abcdefgh', undefined))).toEqual({
      token: 'tok-abcdefgh',
    });
  });

  it('treats malformed cache entries as absent', () => {
    for (const bad of [
      undefined,
      '',
      'not json',
      '{}',
      '{"access_token":""}',
      '{"access_token":5}',
      'null',
    ]) {
      expect(parseCachedToken(bad)).toBeUndefined();
    }
  });

  it('reads a JWT exp claim without verifying', () => {
    const jwt = (payload: object) =>
      `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
    expect(jwtExpiry(jwt({ exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    expect(jwtExpiry(jwt({}))).toBeUndefined();
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
  });
});
