/**
 * `gatepass login --paste` on a real terminal (a PTY made by `script`) against the real
 * oidc-provider: headless Chromium logs in at the printed URL and is redirected to the loopback
 * callback, where nothing listens (as on a laptop whose browser cannot reach the SSH host); the
 * test captures that redirect address and types it into the terminal.
 */
import { spawn } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { CHROMIUM } from '../helpers/browser.js';
import { CLI, ROOT, runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let browser: Browser;
beforeAll(async () => {
  idp = await startTestIdp();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await idp?.close();
});

/** Log in at `url` in Chromium; resolve with the address the IdP redirects to on `callbackOrigin`. */
async function redirectAfterLogin(url: string, callbackOrigin: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    let captured: string | undefined;
    // The redirect target of a 303 is seen as a request (route() only sees a redirect's first URL).
    page.on('request', (req) => {
      if (req.url().startsWith(callbackOrigin)) captured ??= req.url();
    });
    await page.goto(url);
    for (let step = 0; step < 8 && !captured; step++) {
      const login = page.locator('input[name="login"]');
      const submit = page.locator('button[type="submit"]');
      if (await login.count()) {
        await login.fill('alice');
        await page.locator('input[name="password"]').fill('password');
      }
      if (!(await submit.count())) break;
      await Promise.all([
        page.waitForNavigation({ timeout: 15_000 }).catch(() => {}),
        submit.first().click(),
      ]);
    }
    if (callbackOrigin === 'none:') return page.url();
    if (!captured) throw new Error(`no redirect to ${callbackOrigin}; ended on ${page.url()}`);
    return captured;
  } finally {
    await context.close();
  }
}

/**
 * `gatepass <args>` at a terminal; once it asks for the pasted address, Chromium logs in at the
 * printed URL. `answer` turns the redirect address into the typed line; without it nothing is typed
 * and the browser follows the redirect itself.
 */
async function pasteLogin(
  home: OidcHome,
  answer: ((redirect: string) => string) | undefined,
  args = ['login', '--paste'],
  env: NodeJS.ProcessEnv = {},
) {
  const line = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', `exec ${line}`, '/dev/null'], {
    env: { ...home.env, ...env },
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let typed = false;
  const failures: unknown[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    const m = /\n {2}(http\S+)\r?\n[\s\S]*paste it here/.exec(out);
    if (m && !typed) {
      typed = true;
      const callbackOrigin = /ends on (http:\/\/[^/]+)\//.exec(out)![1]!;
      redirectAfterLogin(m[1]!, answer ? callbackOrigin : 'none:').then(
        (redirect) => answer && child.stdin.write(`${answer(redirect)}\n`),
        (err: unknown) => {
          failures.push(err);
          child.kill();
        },
      );
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  expect(failures).toEqual([]);
  return { out, code };
}

describe('login --paste (remote browser)', () => {
  it('stores the tokens from the pasted redirect address; the token then works', async () => {
    const home = await configureOidcHome(idp, undefined);
    try {
      const grants = idp.grantCount('authorization_code');
      const { out, code } = await pasteLogin(home, (redirect) => redirect);
      expect(code, out).toBe(0);
      expect(out).toContain('Logged in');
      expect(idp.grantCount('authorization_code')).toBe(grants + 1);
      const token = await runGatepass(['token'], { env: home.env });
      expect(token.code, token.stderr).toBe(0);
      expect(token.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    } finally {
      home.cleanup();
    }
  }, 120_000);

  it('refuses a pasted address whose state is not this login', async () => {
    const home = await configureOidcHome(idp, undefined);
    try {
      const grants = idp.grantCount('authorization_code');
      const { out, code } = await pasteLogin(home, (redirect) => {
        const u = new URL(redirect);
        u.searchParams.set('state', 'forged-state');
        return u.href;
      });
      expect(code).toBe(1);
      expect(out).toMatch(/pasted address was refused: This login response does not belong/);
      expect(idp.grantCount('authorization_code')).toBe(grants);
      const token = await runGatepass(['token'], { env: home.env });
      expect(token.code).not.toBe(0);
    } finally {
      home.cleanup();
    }
  }, 120_000);

  it('a browser that cannot be opened at a terminal: the paste is offered, the callback still wins', async () => {
    const home = await configureOidcHome(idp, undefined);
    try {
      const { out, code } = await pasteLogin(home, undefined, ['login'], {
        GATEPASS_BROWSER: '/nonexistent/browser',
      });
      expect(code, out).toBe(0);
      expect(out).toContain('Could not open a browser');
      expect(out).toContain('paste it here');
      expect(out).toContain('Logged in');
    } finally {
      home.cleanup();
    }
  }, 120_000);

  it('--paste cannot be combined with --device', async () => {
    const home = await configureOidcHome(idp, undefined);
    try {
      const r = await runGatepass(['login', '--paste', '--device'], { env: home.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--paste cannot be combined with --device');
    } finally {
      home.cleanup();
    }
  });
});
