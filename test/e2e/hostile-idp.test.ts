/**
 * A hostile (or compromised) IdP against the built CLI: the real oidc-provider with its token
 * answers rewritten to carry terminal escape sequences in the tokens, and errors whose
 * error_description is full of them. Nothing of it may reach a terminal, the secret store or the
 * token caches.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, loggedInOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
const homes: OidcHome[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook();
});
afterAll(async () => {
  for (const h of homes) h.cleanup();
  await hook?.close();
  await idp?.close();
});
afterEach(() => {
  idp.setTokenRewrite(undefined);
  idp.setTokenFailure(undefined);
});

const NON_INTERACTIVE = { GATEPASS_INTERACTIVE: '0' };
const HOSTILE = 'tok\x1b]0;PWNED\x07';
// ESC, BEL, CR and the 8-bit CSI: none may be printed.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x9b]/;

function secretFiles(home: OidcHome): string[] {
  return existsSync(home.secretsDir) ? readdirSync(home.secretsDir).filter((f) => !f.startsWith('.')) : [];
}

describe('tokens from the IdP are checked before they are used', () => {
  it('login: an access token with escape sequences fails the login clearly; nothing is stored', async () => {
    const home = await configureOidcHome(idp, hook, NON_INTERACTIVE);
    homes.push(home);
    idp.setTokenRewrite((body) => {
      body['access_token'] = HOSTILE;
    });
    const r = await runGatepass(['login'], { env: home.env, timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/returned an access token with characters a token may not hold/);
    expect(r.stderr).not.toMatch(CONTROL);
    expect(r.stderr).not.toContain('PWNED');
    expect(r.stdout).toBe('');
    expect(idp.grantCount('authorization_code')).toBeGreaterThan(0);
    expect(secretFiles(home)).toEqual([]);
    expect(readFileSync(home.configFile, 'utf8')).not.toContain('token_ref');
  });

  // (A hostile ID token never gets this far: openid-client refuses it as a JWT first.)
  it.each([
    ['access_token', 'token', /returned an access token with characters/],
    ['access_token', 'env --format dotenv', /returned an access token with characters/],
    [
      'id_token',
      'env --format instrumentation-args',
      /refresh failed: invalid response encountered \(Invalid JWT\)|returned an ID token/,
    ],
  ] as const)(
    'refresh: a hostile %s fails `%s` clearly; nothing is printed or stored',
    async (field, args, message) => {
      const home = await loggedInOidcHome(idp, hook, NON_INTERACTIVE);
      homes.push(home);
      home.expireCachedToken();
      const before = Object.fromEntries(
        secretFiles(home).map((f) => [f, readFileSync(path.join(home.secretsDir, f), 'utf8')]),
      );
      idp.setTokenRewrite((body) => {
        body[field] = HOSTILE;
      });
      const refreshes = idp.grantCount('refresh_token');
      const r = await runGatepass(args.split(' '), { env: home.env, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      if (field === 'access_token') expect(r.stderr).toMatch(/it was neither used nor stored/);
      expect(r.stderr).not.toMatch(CONTROL);
      expect(r.stderr).not.toContain('PWNED');
      expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
      // The secret store is exactly as it was: no hostile token, no half-saved rotation.
      const after = Object.fromEntries(
        secretFiles(home).map((f) => [f, readFileSync(path.join(home.secretsDir, f), 'utf8')]),
      );
      expect(after).toEqual(before);
      // The next run asks again (never serves anything from that answer).
      idp.setTokenRewrite(undefined);
      const again = await runGatepass(['env', '--format', 'instrumentation-args'], { env: home.env });
      expect(again.stdout).not.toContain('PWNED');
      expect(again.stderr).not.toMatch(CONTROL);
    },
  );
});

describe('server text is stripped of control characters before it is printed', () => {
  it('an error_description full of escape sequences reaches stderr without them (also with -v)', async () => {
    const home = await loggedInOidcHome(idp, hook, NON_INTERACTIVE);
    homes.push(home);
    home.expireCachedToken();
    idp.setTokenFailure(400, {
      type: 'json',
      text: JSON.stringify({
        error: 'invalid_request\x1b[31m',
        error_description:
          '\x1b]0;PWNED\x07\x1b[2J\x1b[Hsession\rexpired\x9b31m, \x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\',
      }),
    });
    for (const args of [['token'], ['-v', 'token']]) {
      const r = await runGatepass(args, { env: home.env, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/invalid_request: session\s*expired, click/);
      expect(r.stderr).not.toMatch(CONTROL);
      expect(r.stderr).not.toContain('PWNED');
      expect(r.stderr).not.toContain('evil.test');
    }
  });
});
