/**
 * The default store's access-token cache file (src/secrets/token-cache.ts) through the built CLI,
 * against the real IdP and a real Secret Service (gnome-keyring): the access token in a 0600 file,
 * the refresh token in the keychain; `gatepass token` served from the file with the keyring gone;
 * a refresh rewrites the file without fetching discovery again; logout removes it.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryCacheFile } from '../../src/auth/oidc/discovery-cache.js';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { keyringAvailable, startTestKeyring } from '../helpers/keyring.js';
import { loggedInOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook();
});
afterAll(async () => {
  await hook?.close();
  await idp?.close();
});

const cacheDir = (home: OidcHome) => path.join(home.home, '.cache/gatepass');
const atFile = (home: OidcHome) => path.join(cacheDir(home), 'access-tokens', `${home.secretKey()}_AT`);
const readAt = (home: OidcHome) =>
  JSON.parse(readFileSync(atFile(home), 'utf8')) as { access_token: string; expires_at: number };
function expire(home: OidcHome): void {
  writeFileSync(
    atFile(home),
    JSON.stringify({ ...readAt(home), expires_at: Math.floor(Date.now() / 1000) - 10 }),
  );
}

describe.runIf(keyringAvailable())('default store with a real Secret Service', () => {
  it('access token in a 0600 cache file, refresh token in the keychain; served with the keyring stopped', async () => {
    const kr = await startTestKeyring();
    const home = await loggedInOidcHome(idp, hook, { ...kr.env, GATEPASS_SECRET_STORE: '' });
    try {
      const key = home.secretKey();
      expect(kr.read(key)).toBeTruthy();
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      expect(existsSync(home.secretsDir)).toBe(false);
      expect(statSync(atFile(home)).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(atFile(home))).mode & 0o777).toBe(0o700);
      const first = readAt(home).access_token;
      expect(first).toMatch(/^eyJ/);

      // A refresh rewrites the file (new token, 0600) and, discovery being cached since the login,
      // costs the IdP one request: the token endpoint.
      expire(home);
      const requests = idp.counts.requests;
      const refreshes = idp.grantCount('refresh_token');
      const refreshed = await runGatepass(['token'], { env: home.env });
      expect(refreshed.code, refreshed.stderr).toBe(0);
      expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
      expect(idp.counts.requests).toBe(requests + 1);
      expect(readAt(home).access_token).toBe(refreshed.stdout.trimEnd());
      expect(readAt(home).access_token).not.toBe(first);
      expect(readAt(home).expires_at).toBeGreaterThan(Date.now() / 1000);
      expect(statSync(atFile(home)).mode & 0o777).toBe(0o600);
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      expect(statSync(discoveryCacheFile({ cacheDir: cacheDir(home) }, idp.issuer)).mode & 0o777).toBe(0o600);

      // The keyring is gone: a cached token is still served (the keychain is never contacted).
      await kr.close();
      const served = await runGatepass(['token'], { env: home.env });
      expect(served.code, served.stderr).toBe(0);
      expect(served.stdout).toBe(refreshed.stdout);
      expect(served.stderr).toBe('');
    } finally {
      await kr.close().catch(() => {});
      home.cleanup();
    }
  });

  it('an access token an older version left in the keychain is moved to the file; logout removes both', async () => {
    const kr = await startTestKeyring();
    const home = await loggedInOidcHome(idp, hook, { ...kr.env, GATEPASS_SECRET_STORE: '' });
    try {
      const key = home.secretKey();
      const record = readFileSync(atFile(home), 'utf8');
      // As an older gatepass stored it: in the keychain, no cache file.
      kr.write(`${key}_AT`, record);
      writeFileSync(atFile(home), '');
      // The fast path serves it from the keychain without moving it (it only reads); the full path moves it.
      const fast = await runGatepass(['token'], { env: home.env });
      expect(fast.stdout.trimEnd()).toBe(JSON.parse(record).access_token);
      expect(readFileSync(atFile(home), 'utf8')).toBe('');
      const r = await runGatepass(['token'], { env: { ...home.env, GATEPASS_TOKEN_FAST_PATH: '0' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trimEnd()).toBe(JSON.parse(record).access_token);
      expect(readFileSync(atFile(home), 'utf8')).toBe(record);
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      kr.write(`${key}_AT`, record); // a leftover: logout clears it too
      const file = atFile(home);
      const out = await runGatepass(['logout'], { env: home.env });
      expect(out.code, out.stderr).toBe(0);
      expect(existsSync(file)).toBe(false);
      expect(kr.read(key)).toBeUndefined();
      expect(kr.read(`${key}_AT`)).toBeUndefined();
    } finally {
      await kr.close();
      home.cleanup();
    }
  });
});

describe('default store without a keychain', () => {
  it('refresh token in the fallback files, access token in the cache file; a failed refresh drops the discovery cache; logout removes it', async () => {
    const home = await loggedInOidcHome(idp, hook, {
      GATEPASS_SECRET_STORE: '',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
    });
    try {
      const key = home.secretKey();
      expect(existsSync(path.join(home.secretsDir, key))).toBe(true);
      expect(existsSync(path.join(home.secretsDir, `${key}_AT`))).toBe(false);
      expect(statSync(atFile(home)).mode & 0o777).toBe(0o600);
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trimEnd()).toBe(readAt(home).access_token);
      // A failed token request drops the cached discovery document; the next refresh fetches it.
      const disc = discoveryCacheFile({ cacheDir: cacheDir(home) }, idp.issuer);
      expect(existsSync(disc)).toBe(true);
      expire(home);
      idp.setTokenFailure(503);
      try {
        const failed = await runGatepass(['token'], { env: home.env });
        expect(failed.code).not.toBe(0);
      } finally {
        idp.setTokenFailure(undefined);
      }
      expect(existsSync(disc)).toBe(false);
      const requests = idp.counts.requests;
      const again = await runGatepass(['token'], { env: home.env });
      expect(again.code, again.stderr).toBe(0);
      expect(idp.counts.requests).toBe(requests + 2); // discovery + token
      expect(existsSync(disc)).toBe(true);
      const file = atFile(home);
      const out = await runGatepass(['logout'], { env: home.env });
      expect(out.code, out.stderr).toBe(0);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(path.join(home.secretsDir, key))).toBe(false);
    } finally {
      home.cleanup();
    }
  });
});
