/** The loopback callback server during a real login: forged callbacks, IdP errors, HTML escaping. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { gatepassArgv } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
const homes: OidcHome[] = [];
beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook({ passive: true });
});
afterAll(async () => {
  for (const h of homes) h.cleanup();
  await hook?.close();
  await idp?.close();
});

interface Running {
  child: ChildProcess;
  authUrl: URL;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Start `gatepass login` and wait until it handed the authorization URL to the (passive) hook. */
async function startLogin(home: OidcHome): Promise<Running> {
  const seen = hook.urls().length;
  const child = spawn(...gatepassArgv(['login', '--timeout', '30']), {
    env: home.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const started = Date.now();
  while (hook.urls().length === seen) {
    if (Date.now() - started > 20_000) throw new Error(`no authorization URL: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, authUrl: new URL(hook.urls()[seen]!), done };
}

describe('callback server', () => {
  it('refuses a forged callback (wrong state) and still completes the real login', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const run = await startLogin(home);
    const redirect = run.authUrl.searchParams.get('redirect_uri')!;
    const forged = await fetch(`${redirect}?code=attacker&state=wrong`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('does not belong to the login in progress');
    const other = await fetch(new URL('/favicon.ico', redirect));
    expect(other.status).toBe(404);
    const text = await hook.visit(run.authUrl.href);
    expect(text).toContain('Logged in');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    // Only one callback is accepted: the server is gone afterwards.
    await expect(
      fetch(`${redirect}?code=x&state=${run.authUrl.searchParams.get('state')}`),
    ).rejects.toThrow();
  });

  it('an IdP error with the right state fails the login; the page escapes what the IdP sent', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const run = await startLogin(home);
    const redirect = new URL(run.authUrl.searchParams.get('redirect_uri')!);
    redirect.search = new URLSearchParams({
      error: 'access_denied',
      error_description: '<script>alert(1)</script>',
      state: run.authUrl.searchParams.get('state')!,
    }).toString();
    const res = await fetch(redirect);
    const html = await res.text();
    expect(html).toContain('Login failed');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('login failed at the identity provider: access_denied');
  });
});

describe('authorization request and response checks', () => {
  it('asks with PKCE S256, state and nonce; a callback with the right state but a foreign iss fails the login', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const codeGrants = idp.grantCount('authorization_code');
    const run = await startLogin(home);
    const q = run.authUrl.searchParams;
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(q.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(q.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(q.get('code_verifier')).toBeNull();
    // Mix-up attack: a response carrying our state but issued by another authorization server.
    const redirect = new URL(q.get('redirect_uri')!);
    redirect.search = new URLSearchParams({
      code: 'stolen-code',
      state: q.get('state')!,
      iss: 'https://evil.example',
    }).toString();
    await fetch(redirect).catch(() => undefined);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^gatepass: error: .*iss/m);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    // The stolen code was never redeemed.
    expect(idp.grantCount('authorization_code')).toBe(codeGrants);
  });

  it('an ID token carrying another nonce (replayed or injected) fails the login', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    const run = await startLogin(home);
    // Same state and PKCE challenge, but the IdP is asked to bind a different nonce into the ID
    // token: everything checks out except the nonce.
    const tampered = new URL(run.authUrl);
    tampered.searchParams.set('nonce', 'attacker-chosen-nonce-0123456789');
    await hook.visit(tampered.href).catch(() => '');
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^gatepass: error: .*nonce/m);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(path.join(home.secretsDir))).toBe(false);
  });
});

describe('browser that cannot be opened', () => {
  it('prints the URL on stderr and keeps waiting; finishing the login elsewhere works', async () => {
    const home = await configureOidcHome(idp, undefined, {
      GATEPASS_BROWSER: '/nonexistent/browser --new-window',
    });
    homes.push(home);
    const child = spawn(...gatepassArgv(['login', '--timeout', '30']), {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stderr}`)), 20_000);
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /Could not open a browser (\([^)]*\))\. Open this URL to log in:\s+(\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          // The reason names the variable the user set and what is wrong with it.
          expect(m[1]).toMatch(/GATEPASS_BROWSER command "\/nonexistent\/browser" cannot be run: ENOENT/);
          resolve(m[2]!);
        }
      });
    });
    expect(await hook.visit(url)).toContain('Logged in');
    expect(await closed).toBe(0);
    expect(stdout).toBe('');
  });
});

/**
 * A browser command that talks on stdout and stderr (as xdg-open and real browsers do), then hands
 * the URL to the passive hook.
 */
function noisyBrowser(home: OidcHome): string {
  const file = path.join(home.home, 'noisy-browser');
  writeFileSync(
    file,
    `#!/bin/sh\necho "opener-stdout-noise $1"\necho "opener-stderr-noise" >&2\nexec ${hook.env.GATEPASS_BROWSER} "$1"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

async function loginThrough(
  home: OidcHome,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = await startLogin(home);
  expect(await hook.visit(run.authUrl.href)).toContain('Logged in');
  return run.done;
}

describe('browser opener output stays off stdout', () => {
  it('GATEPASS_BROWSER: the command output is discarded', async () => {
    const home = await configureOidcHome(idp, hook);
    homes.push(home);
    home.env['GATEPASS_BROWSER'] = noisyBrowser(home);
    const result = await loginThrough(home);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('opener-');
  });

  it('the OS opener (`open`, its xdg-open, $BROWSER): the opener output is discarded', async () => {
    const home = await configureOidcHome(idp, undefined);
    homes.push(home);
    // No desktop environment and no MIME defaults: xdg-open falls back to $BROWSER.
    const empty = path.join(home.home, 'empty-xdg');
    mkdirSync(empty);
    Object.assign(home.env, {
      DISPLAY: ':99',
      BROWSER: noisyBrowser(home),
      XDG_DATA_DIRS: empty,
      XDG_CONFIG_DIRS: empty,
      XDG_CURRENT_DESKTOP: '',
      DESKTOP_SESSION: '',
      KDE_FULL_SESSION: '',
      GNOME_DESKTOP_SESSION_ID: '',
    });
    delete home.env['GATEPASS_BROWSER'];
    const result = await loginThrough(home);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Opening your browser');
    expect(result.stderr).not.toContain('Could not open a browser');
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('opener-');
  });
});
