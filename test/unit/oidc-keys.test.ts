import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accessTokenKey,
  jwtExpiry,
  legacyOidcSecretKey,
  oidcSecretKey,
  parseCachedToken,
  serializeCachedToken,
} from '../../src/auth/oidc/keys.js';

describe('secret keys', () => {
  it('derives LLM_OAUTH_<8 hex> from gateway, issuer, client id, audience and effective scopes', () => {
    const gw = 'https://gw.example.com';
    const base = { issuer: 'https://sso.example.com', client_id: 'gatepass' };
    const scopes = 'email offline_access openid profile'; // the defaults, sorted
    const hex = createHash('sha256')
      .update(`v2\0${gw}\0https://sso.example.com\0gatepass\0\0${scopes}`)
      .digest('hex');
    expect(oidcSecretKey(gw, base)).toBe(`LLM_OAUTH_${hex.slice(0, 8)}`);
    // Every one of them makes the tokens different.
    const variants = [
      oidcSecretKey(gw, base),
      oidcSecretKey('https://gw2.example.com', base),
      oidcSecretKey(gw, { ...base, issuer: 'https://sso2.example.com' }),
      oidcSecretKey(gw, { ...base, client_id: 'other' }),
      oidcSecretKey(gw, { ...base, audience: 'api://a' }),
      oidcSecretKey(gw, { ...base, audience: 'api://b' }),
      oidcSecretKey(gw, { ...base, scopes: ['openid', 'llm'] }),
      oidcSecretKey(gw, { ...base, resource: 'https://gw.example.com' }),
      oidcSecretKey(gw, { ...base, resource: 'https://gw.example.com/v1' }),
    ];
    expect(new Set(variants).size).toBe(variants.length);
    for (const k of variants) expect(k).toMatch(/^LLM_OAUTH_[0-9a-f]{8}$/);
    // Scope order and the implied openid do not matter; offline_access, requested only when
    // configured (oidc.scopes is used as is), does.
    expect(oidcSecretKey(gw, { ...base, scopes: ['llm', 'openid'] })).toBe(
      oidcSecretKey(gw, { ...base, scopes: ['llm'] }),
    );
    expect(oidcSecretKey(gw, { ...base, scopes: ['llm'] })).not.toBe(
      oidcSecretKey(gw, { ...base, scopes: ['llm', 'offline_access'] }),
    );
    expect(accessTokenKey('LLM_OAUTH_12345678')).toBe('LLM_OAUTH_12345678_AT');
  });

  it('keys an RFC 8707 resource only when one is set (keys without one are unchanged)', () => {
    const gw = 'https://gw.example.com';
    const base = { issuer: 'https://sso.example.com', client_id: 'gatepass' };
    const scopes = 'email offline_access openid profile';
    const hex = createHash('sha256')
      .update(`v2\0${gw}\0https://sso.example.com\0gatepass\0\0${scopes}\0https://gw.example.com/`)
      .digest('hex');
    expect(oidcSecretKey(gw, { ...base, resource: 'https://gw.example.com/' })).toBe(
      `LLM_OAUTH_${hex.slice(0, 8)}`,
    );
    expect(oidcSecretKey(gw, { ...base, resource: '' })).toBe(oidcSecretKey(gw, base));
  });

  it('keeps the key of older versions (gateway NUL issuer) for the one-time migration', () => {
    const hex = createHash('sha256').update('https://gw.example.com\0https://sso.example.com').digest('hex');
    expect(legacyOidcSecretKey('https://gw.example.com', 'https://sso.example.com')).toBe(
      `LLM_OAUTH_${hex.slice(0, 8)}`,
    );
    // The separator matters: "ab"+"c" and "a"+"bc" must not collide.
    expect(legacyOidcSecretKey('ab', 'c')).not.toBe(legacyOidcSecretKey('a', 'bc'));
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
