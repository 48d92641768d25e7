/**
 * Bad days at the identity provider and on disk, with the built CLI and the real IdP: 5xx during a
 * refresh, a refresh token revoked behind gatepass' back, garbage in the cached token entries, and a
 * `gatepass token` killed with SIGKILL while it holds the refresh lock.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { gatepassArgv, runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { loggedInOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
let home: OidcHome;

const JWT_LINE = /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/;

beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook();
  home = await loggedInOidcHome(idp, hook, { GATEPASS_INTERACTIVE: '0' });
});
afterAll(async () => {
  home?.cleanup();
  await hook?.close();
  await idp?.close();
});

const rtFile = () => path.join(home.secretsDir, home.secretKey());
const atFile = () => path.join(home.secretsDir, `${home.secretKey()}_AT`);

/** Log in again (after a test deliberately lost the refresh token). */
async function relogin(): Promise<void> {
  const r = await runGatepass(['login'], {
    env: { ...home.env, GATEPASS_INTERACTIVE: '1' },
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`login failed: ${r.stderr}`);
}

describe('IdP errors during refresh', () => {
  it('5xx (HTML body): clear error, nothing on stdout, refresh token kept; works once the IdP recovers', async () => {
    home.expireCachedToken();
    const rt = readFileSync(rtFile(), 'utf8');
    idp.setTokenFailure(503);
    try {
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^gatepass: error: the identity provider at \S+ failed the refresh with HTTP 503/m,
      );
      expect(r.stderr).toContain('hint: this is a problem at the identity provider');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stderr).not.toContain(rt);
      expect(readFileSync(rtFile(), 'utf8')).toBe(rt);
    } finally {
      idp.setTokenFailure(undefined);
    }
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(JWT_LINE);
  });

  it('5xx with a JSON body echoing the refresh token: status shown, token never printed, token kept', async () => {
    home.expireCachedToken();
    const rt = readFileSync(rtFile(), 'utf8');
    idp.setTokenFailure(500, {
      type: 'json',
      text: JSON.stringify({ error: 'temporarily_unavailable', error_description: `busy ${rt}` }),
    });
    try {
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('failed the refresh with HTTP 500');
      expect(r.stderr).not.toContain(rt); // echoed back by the IdP, still redacted
      expect(readFileSync(rtFile(), 'utf8')).toBe(rt);
    } finally {
      idp.setTokenFailure(undefined);
    }
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('refresh token revoked at the IdP: the next refresh asks for a new login and drops the dead token', async () => {
    home.expireCachedToken();
    await idp.revoke(readFileSync(rtFile(), 'utf8'));
    const r = await runGatepass(['token'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid_grant');
    expect(r.stderr).toContain('authentication required: run `gatepass login`');
    expect(existsSync(rtFile())).toBe(false);
    expect(existsSync(atFile())).toBe(false);
    await relogin();
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('corrupted token entries', () => {
  it.each([
    ['binary garbage', '\u0000\u0001\u00ff garbage'],
    ['JSON of the wrong shape', '{"access_token": 42, "expires_at": "soon"}'],
    ['JSON null', 'null'],
    ['truncated JSON', '{"access_token": "eyJ'],
  ])('a cached access-token entry holding %s is ignored and refreshed', async (_name, garbage) => {
    writeFileSync(atFile(), garbage, { mode: 0o600 });
    const r = await runGatepass(['token'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(JWT_LINE);
    expect(readFileSync(atFile(), 'utf8')).toContain('"access_token"');
  });

  it('a refresh-token entry holding garbage: the IdP refuses it, a clear re-login message, no crash', async () => {
    home.expireCachedToken();
    writeFileSync(rtFile(), 'not a token \u0000\n\u00ff', { mode: 0o600 });
    const r = await runGatepass(['token'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('authentication required: run `gatepass login`');
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(rtFile())).toBe(false);
    await relogin();
  });
});

describe('stale refresh lock', () => {
  it('SIGKILL of a `gatepass token` holding the refresh lock does not wedge the next one', async () => {
    home.expireCachedToken();
    const lockDir = path.join(home.home, '.local/share/gatepass/locks', `${home.secretKey()}.lock`);
    idp.setDelay(60_000); // the holder sits in the refresh grant with the lock held
    const holder = spawn(...gatepassArgv(['token']), {
      env: { ...home.env, GATEPASS_HTTP_TIMEOUT: '120' },
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 15_000;
      while (!existsSync(lockDir)) {
        if (Date.now() > deadline) throw new Error('the first process never took the lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Let it get into the grant, then kill it without any chance to release the lock.
      await new Promise((r) => setTimeout(r, 500));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect(existsSync(lockDir)).toBe(true);
    } finally {
      idp.setDelay(0);
    }
    const started = Date.now();
    const r = await runGatepass(['token'], { env: home.env, timeoutMs: 40_000 });
    const waited = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(JWT_LINE);
    // The lock is stale 10 s after its holder's last refresh of it; allow for a loaded machine.
    expect(waited).toBeLessThan(20_000);
  });
});
