/** Secret stores through the built CLI: the real Secret Service (gnome-keyring) and the file fallback. */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { keyringAvailable, startTestKeyring, type TestKeyring } from '../helpers/keyring.js';
import { loggedInOidcHome } from '../helpers/oidc-home.js';

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

describe.runIf(keyringAvailable())('keychain store (real Secret Service)', () => {
  let kr: TestKeyring;
  beforeAll(async () => {
    kr = await startTestKeyring();
  });
  afterAll(async () => {
    await kr?.close();
  });

  it('is the default: login stores the refresh token in the keychain, the access token in the cache file', async () => {
    // GATEPASS_SECRET_STORE unset: the keychain probe decides.
    const home = await loggedInOidcHome(idp, hook, { ...kr.env, GATEPASS_SECRET_STORE: '' });
    try {
      const key = home.secretKey();
      const atFile = path.join(home.home, '.cache/gatepass/access-tokens', `${key}_AT`);
      const readAt = () =>
        JSON.parse(readFileSync(atFile, 'utf8')) as { access_token: string; expires_at: number };
      expect(kr.read(key)).toBeTruthy();
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      expect(readAt().access_token).toMatch(/^eyJ/);
      expect(existsSync(home.secretsDir)).toBe(false);
      const requests = idp.counts.requests;
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trimEnd()).toBe(readAt().access_token);
      expect(idp.counts.requests).toBe(requests);
      // Expired access token: a refresh, whose rotated refresh token lands in the keychain and new
      // access token in the cache file (and no secrets file appears).
      const rt = kr.read(key)!;
      writeFileSync(atFile, JSON.stringify({ ...readAt(), expires_at: Math.floor(Date.now() / 1000) - 10 }));
      const refreshes = idp.grantCount('refresh_token');
      const refreshed = await runGatepass(['token'], { env: home.env });
      expect(refreshed.code, refreshed.stderr).toBe(0);
      expect(refreshed.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
      expect(kr.read(key)).toBeTruthy();
      expect(kr.read(key)).not.toBe(rt);
      const cached = readAt();
      expect(cached.access_token).toBe(refreshed.stdout.trimEnd());
      expect(cached.expires_at).toBeGreaterThan(Date.now() / 1000);
      expect(existsSync(home.secretsDir)).toBe(false);
      const out = await runGatepass(['logout'], { env: home.env });
      expect(out.code, out.stderr).toBe(0);
      expect(kr.read(key)).toBeUndefined();
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      expect(existsSync(atFile)).toBe(false);
    } finally {
      home.cleanup();
    }
  });

  it('long secrets are split into chunks (injected Windows-like limit): login, refresh, token, logout', async () => {
    // The keychain store proper: the default store keeps access tokens in a cache file instead (only
    // the refresh token would be chunked there).
    const chunked = { ...kr.env, GATEPASS_SECRET_STORE: 'keychain', GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE: '20' };
    const home = await loggedInOidcHome(idp, hook, chunked);
    const chunksOf = (key: string): { gen: string; parts: (string | undefined)[] } => {
      const index = kr.read(key)!;
      expect(index).toMatch(/^gatepass-chunks:v1:/);
      const [gen, count] = index.slice('gatepass-chunks:v1:'.length).split(':') as [string, string];
      const parts = Array.from({ length: Number(count) }, (_, i) => kr.read(`${key}.chunk.${gen}.${i}`));
      return { gen, parts };
    };
    try {
      const key = home.secretKey();
      const at = chunksOf(`${key}_AT`);
      expect(at.parts.length).toBeGreaterThan(3);
      for (const part of at.parts) expect(part!.length).toBeLessThanOrEqual(20);
      const cachedToken = (JSON.parse(at.parts.join('')) as { access_token: string }).access_token;
      expect(cachedToken).toMatch(/^eyJ/);
      // The fast path and the full path read the chunked token.
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trimEnd()).toBe(cachedToken);
      // A refresh rewrites both secrets under new generations and removes the old chunks.
      const expiredRecord = {
        ...JSON.parse(at.parts.join('')),
        expires_at: Math.floor(Date.now() / 1000) - 10,
      };
      const { createKeychainStore } = await import('../../src/secrets/keychain.js');
      const saved = process.env['DBUS_SESSION_BUS_ADDRESS'];
      process.env['DBUS_SESSION_BUS_ADDRESS'] = kr.env.DBUS_SESSION_BUS_ADDRESS;
      try {
        const writer = await createKeychainStore(undefined, { env: chunked });
        await writer.set(`${key}_AT`, JSON.stringify(expiredRecord));
      } finally {
        if (saved === undefined) delete process.env['DBUS_SESSION_BUS_ADDRESS'];
        else process.env['DBUS_SESSION_BUS_ADDRESS'] = saved;
      }
      const expired = chunksOf(`${key}_AT`);
      expect(kr.read(`${key}_AT.chunk.${at.gen}.0`)).toBeUndefined();
      const refreshed = await runGatepass(['token'], { env: home.env });
      expect(refreshed.code, refreshed.stderr).toBe(0);
      const after = chunksOf(`${key}_AT`);
      expect(after.gen).not.toBe(expired.gen);
      expect(kr.read(`${key}_AT.chunk.${expired.gen}.0`)).toBeUndefined();
      expect(JSON.parse(after.parts.join('')).access_token).toBe(refreshed.stdout.trimEnd());
      const rt = chunksOf(key);
      const out = await runGatepass(['logout'], { env: home.env });
      expect(out.code, out.stderr).toBe(0);
      expect(kr.read(key)).toBeUndefined();
      expect(kr.read(`${key}_AT`)).toBeUndefined();
      for (const [i] of rt.parts.entries()) expect(kr.read(`${key}.chunk.${rt.gen}.${i}`)).toBeUndefined();
      for (const [i] of after.parts.entries())
        expect(kr.read(`${key}_AT.chunk.${after.gen}.${i}`)).toBeUndefined();
    } finally {
      home.cleanup();
    }
  });

  it('GATEPASS_SECRET_STORE=keychain fails clearly when no keychain is reachable', async () => {
    const home = makeTempHome({
      GATEPASS_SECRET_STORE: 'keychain',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
    });
    try {
      await runGatepass(
        [
          'config',
          'set',
          '--gateway-url',
          'https://gw.example.test',
          '--issuer',
          idp.issuer,
          '--client-id',
          'x',
        ],
        {
          env: home.env,
        },
      );
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the OS keychain is not available');
    } finally {
      home.cleanup();
    }
  });
});

describe('file store fallback', () => {
  it('without a keychain, falls back to 0600 files in a 0700 dir and says so once', async () => {
    const env = { GATEPASS_SECRET_STORE: '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' };
    const home = makeTempHome({ ...env, ...hook.env });
    try {
      await runGatepass(
        [
          'config',
          'set',
          '--gateway-url',
          'https://gw.example.test',
          '--issuer',
          idp.issuer,
          '--client-id',
          idp.clientId,
        ],
        { env: home.env },
      );
      const first = await runGatepass(['logout'], { env: home.env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain('no OS keychain is available');
      const second = await runGatepass(['logout'], { env: home.env });
      expect(second.stderr).not.toContain('no OS keychain');
      const dir = path.join(home.home, '.local/share/gatepass/secrets');
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    } finally {
      home.cleanup();
    }
  });
});
