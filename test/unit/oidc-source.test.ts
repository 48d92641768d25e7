/** The token source's cheap tiers and its refusal to go interactive, with fakes (no network). */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpTimeoutSeconds } from '../../src/auth/oidc/client.js';
import { accessTokenKey, serializeCachedToken } from '../../src/auth/oidc/keys.js';
import {
  createOidcTokenSource,
  DEFAULT_LOGIN_TIMEOUT_MS,
  loginTimeoutMs,
  providerSecretKey,
} from '../../src/auth/oidc/source.js';
import type { AuthContext } from '../../src/auth/types.js';
import { emptyConfig, type OidcProvider } from '../../src/config/schema.js';
import { AuthError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import type { SecretStore } from '../../src/secrets/types.js';

const provider: OidcProvider = {
  type: 'oidc',
  gateway_url: 'https://gw.example.test',
  oidc: { issuer: 'https://sso.example.test', client_id: 'c' },
};
const KEY = providerSecretKey(provider);

let dir: string;
let now: number;
let store: SecretStore & { reads: number };

function ctx(overrides: Partial<AuthContext> = {}): AuthContext {
  const config = emptyConfig();
  config.providers['default'] = provider;
  return {
    config,
    configFile: path.join(dir, 'config.yaml'),
    paths: {
      configFile: path.join(dir, 'config.yaml'),
      configDir: dir,
      cacheDir: dir,
      stateDir: dir,
      dataDir: dir,
    },
    logger: silentLogger,
    env: {},
    now: () => now,
    secrets: store,
    interactive: false,
    stderr: process.stderr,
    ...overrides,
  };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-src-'));
  now = 1_800_000_000_000;
  const inner = createMemoryStore();
  store = {
    ...inner,
    reads: 0,
    async get(k) {
      store.reads += 1;
      return inner.get(k);
    },
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('OIDC token source tiers', () => {
  it('serves the secret-store cache, then memory without touching the store', async () => {
    await store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now + 3600_000));
    const source = createOidcTokenSource(ctx(), 'default', provider);
    const first = await source.getToken();
    expect(first).toEqual({ token: 'cached-token-1', expiresAt: now + 3600_000, origin: 'cache' });
    const reads = store.reads;
    expect((await source.getToken()).origin).toBe('memory');
    expect(store.reads).toBe(reads);
  });

  it('refreshes a skew before expiry: a token expiring within 60 s is not served', async () => {
    await store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now + 30_000));
    const source = createOidcTokenSource(ctx(), 'default', provider);
    // No refresh token and not interactive: authentication required, nothing interactive attempted.
    await expect(source.getToken()).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
    // A caller that only needs 10 s of validity gets it.
    expect((await source.getToken({ minValidityMs: 10_000 })).token).toBe('cached-token-1');
  });

  it('non-interactive without any credentials: E_AUTH_REQUIRED naming the login command', async () => {
    const source = createOidcTokenSource(ctx(), 'default', provider);
    const err = await source.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toBe('authentication required: run `gatepass login`');
    const other = createOidcTokenSource(ctx(), 'corp', provider);
    await expect(other.getToken()).rejects.toThrow('run `gatepass login --provider corp`');
  });

  it('invalidate() drops a rejected token from memory and from the shared cache', async () => {
    await store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now + 3600_000));
    const source = createOidcTokenSource(ctx(), 'default', provider);
    await source.getToken();
    source.invalidate('cached-token-1');
    await expect(source.getToken()).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
    expect(await store.get(accessTokenKey(KEY))).toBeUndefined();
  });

  it('forceRefresh skips the cached token', async () => {
    await store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now + 3600_000));
    const source = createOidcTokenSource(ctx(), 'default', provider);
    await expect(source.getToken({ forceRefresh: true })).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
  });

  it('a token without a known expiry is served from the cache', async () => {
    await store.set(accessTokenKey(KEY), serializeCachedToken('opaque-token-1', undefined));
    const source = createOidcTokenSource(ctx(), 'default', provider);
    expect(await source.getToken()).toEqual({ token: 'opaque-token-1', origin: 'cache' });
  });
});

describe('oidcTokenStatus', () => {
  it('reports what is stored without any token', async () => {
    const { oidcTokenStatus } = await import('../../src/auth/oidc/status.js');
    expect(await oidcTokenStatus(store, provider)).toEqual({
      secretKey: KEY,
      hasRefreshToken: false,
      hasAccessToken: false,
    });
    await store.set(KEY, 'refresh-token-1');
    await store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now));
    const status = await oidcTokenStatus(store, provider);
    expect(status).toEqual({
      secretKey: KEY,
      hasRefreshToken: true,
      hasAccessToken: true,
      accessTokenExpiresAt: now,
    });
    expect(JSON.stringify(status)).not.toContain('token-1');
  });
});

describe('TTL invariant: --min-valid 600, capped at half the token lifetime', () => {
  const tenMin = 600_000;
  const cached = async (issuedAgoMs: number, leftMs: number) =>
    store.set(accessTokenKey(KEY), serializeCachedToken('cached-token-1', now + leftMs, now - issuedAgoMs));

  it('a 1-hour token with 11 min left is served; with 9 min left it is not', async () => {
    await cached(49 * 60_000, 11 * 60_000);
    expect(
      (await createOidcTokenSource(ctx(), 'default', provider).getToken({ minValidityMs: tenMin })).token,
    ).toBe('cached-token-1');
    await cached(51 * 60_000, 9 * 60_000);
    await expect(
      createOidcTokenSource(ctx(), 'default', provider).getToken({ minValidityMs: tenMin }),
    ).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' }); // it wanted a refresh (no refresh token here)
  });

  it('a 5-minute token is served while more than half its lifetime remains (no refresh on every call)', async () => {
    await cached(60_000, 4 * 60_000);
    expect(
      (await createOidcTokenSource(ctx(), 'default', provider).getToken({ minValidityMs: tenMin })).token,
    ).toBe('cached-token-1');
    await cached(3 * 60_000, 2 * 60_000);
    await expect(
      createOidcTokenSource(ctx(), 'default', provider).getToken({ minValidityMs: tenMin }),
    ).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
  });
});

describe('login timeout', () => {
  it('is 5 minutes unless GATEPASS_LOGIN_TIMEOUT (seconds) says otherwise', () => {
    expect(DEFAULT_LOGIN_TIMEOUT_MS).toBe(300_000);
    expect(loginTimeoutMs({})).toBe(300_000);
    expect(loginTimeoutMs({ GATEPASS_LOGIN_TIMEOUT: '' })).toBe(300_000);
    expect(loginTimeoutMs({ GATEPASS_LOGIN_TIMEOUT: ' 90 ' })).toBe(90_000);
  });

  it('refuses a value that is not 1–86400 seconds with a usage error', () => {
    for (const bad of ['soon', '0', '-5', '0.5', '86401', 'Infinity']) {
      expect(() => loginTimeoutMs({ GATEPASS_LOGIN_TIMEOUT: bad })).toThrow(
        expect.objectContaining({ code: 'E_USAGE', exitCode: 2 }),
      );
    }
  });
});

describe('IdP HTTP timeout', () => {
  it('is 30 s unless GATEPASS_HTTP_TIMEOUT (1–3600 seconds) says otherwise; a bad value is a usage error', () => {
    expect(httpTimeoutSeconds({})).toBe(30);
    expect(httpTimeoutSeconds({ GATEPASS_HTTP_TIMEOUT: ' 5 ' })).toBe(5);
    for (const bad of ['fast', '0', '-1', '3601']) {
      expect(() => httpTimeoutSeconds({ GATEPASS_HTTP_TIMEOUT: bad })).toThrow(
        expect.objectContaining({
          code: 'E_USAGE',
          message: `GATEPASS_HTTP_TIMEOUT must be a number of seconds from 1 to 3600, got "${bad}"`,
        }),
      );
    }
  });
});
