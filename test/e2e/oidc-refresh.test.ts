/**
 * Refresh behaviour of `gatepass token` against the real IdP: one refresh grant for 20 concurrent
 * processes, rotation persisted, IdP down / slow / invalid_grant, lazy first-use login, callback
 * port in use.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { GATEPASS_SHELL, ROOT, runGatepass } from '../helpers/cli.js';
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

const NON_INTERACTIVE = { GATEPASS_INTERACTIVE: '0' };
const JWT_LINE = /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/;
const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

describe('refresh across processes', () => {
  let home: OidcHome;
  beforeAll(async () => {
    home = await loggedInOidcHome(idp, hook, NON_INTERACTIVE);
    homes.push(home);
  });

  it('20 concurrent `gatepass token` with an expired access token cause exactly one refresh grant', async () => {
    const rtBefore = readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8');
    home.expireCachedToken();
    const refreshes = idp.grantCount('refresh_token');
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => runGatepass(['token'], { env: home.env, timeoutMs: 60_000 })),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const tokens = new Set(runs.map((r) => r.stdout));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
    expect(idp.counts.tokenRequests['refresh_token']).toBe(refreshes + 1);
    // The rotated refresh token replaced the old one.
    const rtAfter = readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8');
    expect(rtAfter).not.toBe(rtBefore);
  });

  it('a refresh writes the new expiry into token_ref; the next cache hit writes nothing', async () => {
    home.expireCachedToken();
    const before = readFileSync(home.configFile, 'utf8');
    expect(before).toMatch(/expires_at: \d+/);
    // A recognisable stale expiry, so the refresh has to be what rewrites it.
    writeFileSync(home.configFile, before.replace(/expires_at: \d+/, 'expires_at: 1000000000'));
    const refreshes = idp.grantCount('refresh_token');
    const r = await runGatepass(['token', '--format', 'json'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
    const { expires_at: expiresAt } = JSON.parse(r.stdout) as { expires_at: number };
    const after = readFileSync(home.configFile, 'utf8');
    expect(after).toContain(`expires_at: ${expiresAt}`);
    expect(after).not.toContain('expires_at: 1000000000');
    expect(after).not.toContain(JSON.parse(r.stdout).token);
    const requests = idp.counts.requests;
    const cached = await runGatepass(['token', '--format', 'json'], { env: home.env });
    expect(cached.stdout).toBe(r.stdout);
    expect(idp.counts.requests).toBe(requests);
    expect(readFileSync(home.configFile, 'utf8')).toBe(after);
  });

  it('a verbose refresh logs no secret on stderr', async () => {
    home.expireCachedToken();
    const rtBefore = readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8');
    const r = await runGatepass(['--verbose', 'token'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('refreshed');
    const rtAfter = readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8');
    for (const secret of [r.stdout.trimEnd(), rtBefore, rtAfter]) expect(r.stderr).not.toContain(secret);
  });

  it('IdP down: a clear error, nothing on stdout, refresh token kept', async () => {
    home.expireCachedToken();
    await idp.down();
    try {
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('cannot reach the identity provider');
      expect(existsSync(path.join(home.secretsDir, home.secretKey()))).toBe(true);
    } finally {
      await idp.up();
    }
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('IdP slow: times out with a clear error', async () => {
    home.expireCachedToken();
    idp.setDelay(3000);
    try {
      const r = await runGatepass(['token'], { env: { ...home.env, GATEPASS_HTTP_TIMEOUT: '1' } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/did not answer the .* in time/);
    } finally {
      idp.setDelay(0);
    }
  });

  it('IdP slow with 5 processes queued on the lock: the queue fails fast after the first timeout', async () => {
    home.expireCachedToken();
    idp.setDelay(6000);
    const before = idp.counts.requests;
    const started = Date.now();
    try {
      const runs = await Promise.all(
        Array.from({ length: 5 }, () =>
          runGatepass(['token'], { env: { ...home.env, GATEPASS_HTTP_TIMEOUT: '2' }, timeoutMs: 30_000 }),
        ),
      );
      for (const r of runs) {
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/did not answer the .* in time/);
      }
      // Without the memo each process would wait out its own 2 s timeout in turn (>= 10 s).
      expect(Date.now() - started).toBeLessThan(9_000);
      expect(idp.counts.requests - before).toBeLessThan(5);
    } finally {
      idp.setDelay(0);
    }
    // A fresh invocation retries (and succeeds now).
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('invalid_grant with --interactive: the stale refresh token is dropped and the browser login runs', async () => {
    home.expireCachedToken();
    const rtBefore = readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8');
    const logins = hook.logins();
    const codeGrants = idp.grantCount('authorization_code');
    idp.setInvalidGrant(true);
    try {
      const r = await runGatepass(['token', '--interactive'], { env: home.env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(JWT_LINE);
      expect(r.stderr).toContain('invalid_grant');
      expect(r.stderr).not.toContain('authentication required');
    } finally {
      idp.setInvalidGrant(false);
    }
    await hook.waitForLogins(logins + 1);
    expect(idp.grantCount('authorization_code')).toBe(codeGrants + 1);
    // The login stored a new refresh token, and it works.
    expect(readFileSync(path.join(home.secretsDir, home.secretKey()), 'utf8')).not.toBe(rtBefore);
    home.expireCachedToken();
    const refreshes = idp.grantCount('refresh_token');
    const ok = await runGatepass(['token'], { env: home.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
  });

  it('invalid_grant clears the refresh token and asks for a login', async () => {
    home.expireCachedToken();
    idp.setInvalidGrant(true);
    try {
      const r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('invalid_grant');
      expect(r.stderr).toContain('authentication required: run `gatepass login`');
      expect(existsSync(path.join(home.secretsDir, home.secretKey()))).toBe(false);
    } finally {
      idp.setInvalidGrant(false);
    }
  });
});

describe('first use after a lazy setup', () => {
  it('`gatepass token` without a TTY runs the browser login when the provider never logged in', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const before = hook.logins();
    const r = await runGatepass(['token'], { env: home.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    await hook.waitForLogins(before + 1);
    // Now logged in: later calls are served without a browser.
    const again = await runGatepass(['token'], { env: home.env });
    expect(again.stdout).toBe(r.stdout);
    expect(hook.logins()).toBe(before + 1);
  });

  it('without a browser it fails fast with E_AUTH_REQUIRED', async () => {
    const home = await configureOidcHome(idp, undefined);
    homes.push(home);
    const r = await runGatepass(['token'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('authentication required: run `gatepass login`');
  });
});

describe('login errors', () => {
  it('reports a busy callback port clearly', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const port = Number(/callback_port: (\d+)/.exec(readFileSync(home.configFile, 'utf8'))![1]);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const r = await runGatepass(['login'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the login callback port 127.0.0.1:${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('times out when the browser never comes back', async () => {
    const home = await configureOidcHome(idp, undefined, { GATEPASS_BROWSER: 'true' });
    homes.push(home);
    const r = await runGatepass(['login', '--timeout', '1'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('login timed out after 1 s');
    // stderr is a pipe here, not a terminal: no spinner.
    expect(r.stderr).not.toMatch(SPINNER_FRAME);
    expect(r.stderr).not.toContain('\r');
  });

  it('GATEPASS_LOGIN_TIMEOUT sets the wait of every login (login, token --interactive); --timeout wins', async () => {
    const home = await configureOidcHome(idp, undefined, { GATEPASS_BROWSER: 'true' });
    homes.push(home);
    const env = { ...home.env, GATEPASS_LOGIN_TIMEOUT: '1' };
    const token = await runGatepass(['token', '--interactive'], { env });
    expect(token.code).toBe(1);
    expect(token.stdout).toBe('');
    expect(token.stderr).toContain('login timed out after 1 s');
    const login = await runGatepass(['login'], { env });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('login timed out after 1 s');
    const flag = await runGatepass(['login', '--timeout', '2'], { env });
    expect(flag.stderr).toContain('login timed out after 2 s');
    const bad = await runGatepass(['login'], { env: { ...home.env, GATEPASS_LOGIN_TIMEOUT: 'soon' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'GATEPASS_LOGIN_TIMEOUT must be a number of seconds from 1 to 86400, got "soon"',
    );
  });

  it('shows a spinner on stderr while waiting when stderr is a terminal, and nothing on stdout', async () => {
    const home = await configureOidcHome(idp, undefined, { GATEPASS_BROWSER: 'true' });
    homes.push(home);
    const stdoutFile = path.join(home.home, 'login.stdout');
    // A real terminal (a PTY made by `script`) for stdin and stderr; stdout goes to a file.
    const line = `exec ${GATEPASS_SHELL} login --timeout 2 >'${stdoutFile}'`;
    const child = spawn('script', ['-qec', line, '/dev/null'], {
      env: home.env,
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let terminal = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      terminal += d;
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(1);
    expect(terminal).toContain('Waiting for the login to finish in your browser');
    expect(terminal).toMatch(SPINNER_FRAME);
    expect(terminal).toContain('login timed out after 2 s');
    expect(readFileSync(stdoutFile, 'utf8')).toBe('');
  });

  it('IdP down at login: a clear error, and no browser is opened', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const urls = hook.urls().length;
    await idp.down();
    try {
      const r = await runGatepass(['login'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`cannot reach the identity provider at ${idp.issuer}`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      await idp.up();
    }
    expect(hook.urls().length).toBe(urls);
  });

  it('IdP slow at login: discovery times out with a clear error', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    idp.setDelay(3000);
    try {
      const r = await runGatepass(['login'], { env: { ...home.env, GATEPASS_HTTP_TIMEOUT: '1' } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/did not answer the discovery .* in time/);
    } finally {
      idp.setDelay(0);
    }
  });

  it('listens on 127.0.0.1:8666 when oidc.callback_port is not set', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const unset = await runGatepass(['config', 'unset', 'oidc.callback_port'], { env: home.env });
    expect(unset.code, unset.stderr).toBe(0);
    expect(readFileSync(home.configFile, 'utf8')).not.toContain('callback_port');
    // Another program (or test run) may hold 8666: then the error must name that port.
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(8666, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    const r = await runGatepass(['login', '--skip-browser', '--timeout', '1'], { env: home.env });
    expect(r.code).toBe(1);
    if (free) {
      const url = new URL(/(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(r.stderr)![1]!);
      expect(url.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:8666/callback');
      expect(r.stderr).toContain('login timed out after 1 s');
    } else {
      expect(r.stderr).toContain('the login callback port 127.0.0.1:8666 is already in use');
    }
  });

  it('--skip-browser prints the URL on stderr and never runs the browser command', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    await runGatepass(['config', 'set', 'oidc.audience', 'llm-gateway'], { env: home.env });
    // Configured scopes are used as they are (Google refuses offline_access): nothing added.
    const scopes = await runGatepass(['config', 'set', 'oidc.scopes', 'email openid'], { env: home.env });
    expect(scopes.code, scopes.stderr).toBe(0);
    const urls = hook.urls().length;
    const r = await runGatepass(['login', '--skip-browser', '--timeout', '1'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${idp.issuer}/auth?`);
    expect(r.stderr).toContain('code_challenge_method=S256');
    const url = new URL(/(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(r.stderr)![1]!);
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(['email', 'openid']);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('audience')).toBe('llm-gateway');
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(hook.urls().length).toBe(urls);
  });
});
