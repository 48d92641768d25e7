/**
 * OIDC login and `gatepass token` end to end through the built CLI: a real oidc-provider on
 * loopback, the real headless Chromium completing the login, secrets in the file store.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';

const GATEWAY = 'https://gateway.example.test';

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

async function configuredHome(extra: NodeJS.ProcessEnv = {}): Promise<TempHome> {
  const home = makeTempHome({ GATEPASS_SECRET_STORE: 'file', ...hook.env, ...extra });
  const port = await freePort();
  const r = await runGatepass(
    [
      'config',
      'set',
      '--gateway-url',
      GATEWAY,
      '--issuer',
      idp.issuer,
      '--client-id',
      idp.clientId,
      '--callback-port',
      String(port),
    ],
    { env: home.env },
  );
  expect(r.code, r.stderr).toBe(0);
  return home;
}

describe('gatepass login + token (real IdP, real browser)', () => {
  let home: TempHome;
  afterAll(() => home?.cleanup());

  it('logs in through the browser, then prints only a JWT signed by the IdP', async () => {
    home = await configuredHome();
    const before = hook.logins();
    const login = await runGatepass(['login'], { env: home.env, timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');
    await hook.waitForLogins(before + 1);
    expect(hook.lastPageText()).toContain('Logged in');
    expect(idp.grantCount('authorization_code')).toBeGreaterThanOrEqual(1);

    const token = await runGatepass(['token'], { env: home.env });
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const jwt = token.stdout.trimEnd();
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: idp.audience,
    });
    expect(payload.sub).toBe('alice');
    // The token never leaks to stderr.
    expect(token.stderr).not.toContain(jwt);
  });

  it('serves the second call from the cache without contacting the IdP', async () => {
    const requests = idp.counts.requests;
    const config = readFileSync(home.configFile, 'utf8');
    const configMtime = statSync(home.configFile).mtimeMs;
    const first = await runGatepass(['token'], { env: home.env });
    const second = await runGatepass(['token', '--format', 'json'], { env: home.env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(idp.counts.requests).toBe(requests);
    // The token reference is written after a login or a refresh only: a cache hit writes nothing.
    expect(readFileSync(home.configFile, 'utf8')).toBe(config);
    expect(statSync(home.configFile).mtimeMs).toBe(configMtime);
    const json = JSON.parse(second.stdout) as { token: string; expires_at: number };
    expect(json.token).toBe(first.stdout.trimEnd());
    expect(json.expires_at).toBeGreaterThan(Date.now() / 1000);
  });

  it('prints a kubectl ExecCredential', async () => {
    const r = await runGatepass(['token', '--format', 'exec-credential'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    const cred = JSON.parse(r.stdout);
    expect(cred.apiVersion).toBe('client.authentication.k8s.io/v1');
    expect(cred.kind).toBe('ExecCredential');
    expect(cred.status.token).toMatch(/^eyJ/);
    expect(cred.status.expirationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('records a token reference (no token) in the config and keeps secrets in 0600 files in a 0700 dir', () => {
    const config = readFileSync(home.configFile, 'utf8');
    expect(config).toMatch(/secret_key: LLM_OAUTH_[0-9a-f]{8}/);
    expect(config).not.toMatch(/eyJ/);
    const dir = path.join(home.home, '.local/share/gatepass/secrets');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir).filter((f) => !f.startsWith('.'));
    expect(files.sort()).toEqual([
      expect.stringMatching(/^LLM_OAUTH_[0-9a-f]{8}$/),
      expect.stringMatching(/_AT$/),
    ]);
    for (const f of files) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('logout revokes the refresh token at the IdP and deletes local tokens', async () => {
    const revocations = idp.counts.revocations;
    const r = await runGatepass(['logout'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('revoked');
    expect(idp.counts.revocations).toBe(revocations + 1);
    const t = await runGatepass(['token'], { env: { ...home.env, GATEPASS_INTERACTIVE: '0' } });
    expect(t.code).toBe(1);
    expect(t.stdout).toBe('');
    // Logged out by the user, not "never logged in": no login on a tool's behalf.
    expect(t.stderr).toContain('you are logged out: run `gatepass login`');
  });
});

describe('logout without revocation', () => {
  /** A configured home holding a (never issued) refresh token and access token in the file store. */
  async function homeWithTokens(issuer: string, clientId: string) {
    const t = makeTempHome({ GATEPASS_SECRET_STORE: 'file' });
    const r = await runGatepass(
      ['config', 'set', '--gateway-url', GATEWAY, '--issuer', issuer, '--client-id', clientId],
      { env: t.env },
    );
    expect(r.code, r.stderr).toBe(0);
    const key = oidcSecretKey(GATEWAY, { issuer, client_id: clientId });
    const dir = path.join(t.home, '.local/share/gatepass/secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, key), 'stale-refresh-token-1', { mode: 0o600 });
    writeFileSync(path.join(dir, `${key}_AT`), JSON.stringify({ access_token: 'stale-access-1' }), {
      mode: 0o600,
    });
    return { ...t, files: [path.join(dir, key), path.join(dir, `${key}_AT`)] };
  }

  it('an IdP without a revocation endpoint: local tokens deleted, the IdP asked for discovery only', async () => {
    const plain = await startTestIdp({ revocation: false });
    const t = await homeWithTokens(plain.issuer, plain.clientId);
    try {
      plain.resetCounts();
      const r = await runGatepass(['logout'], { env: t.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('Logged out of provider "default"');
      expect(r.stderr).not.toContain('revoked');
      expect(r.stderr).not.toContain('stale-refresh-token-1');
      expect(plain.counts.requests).toBe(1);
      for (const f of t.files) expect(existsSync(f)).toBe(false);
    } finally {
      t.cleanup();
      await plain.close();
    }
  });

  it('--no-revoke never contacts the IdP', async () => {
    const t = await homeWithTokens(idp.issuer, idp.clientId);
    try {
      const requests = idp.counts.requests;
      const r = await runGatepass(['logout', '--no-revoke'], { env: t.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('Logged out of provider "default"');
      expect(idp.counts.requests).toBe(requests);
      for (const f of t.files) expect(existsSync(f)).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
