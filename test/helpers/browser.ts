/**
 * A headless browser that gatepass can "open": `startBrowserHook()` returns an environment with
 * GATEPASS_BROWSER pointing at a tiny script (browser-hook.mjs) that posts the URL it is given to a
 * loopback server in the test process. The test process then drives the real Debian Chromium with
 * playwright-core through oidc-provider's development login and consent pages, which ends in the
 * redirect to gatepass' loopback callback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env['GATEPASS_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const HOOK = path.join(import.meta.dirname, 'browser-hook.mjs');

export interface BrowserHookOptions {
  /** Login name typed on the IdP's page (default "alice"). */
  login?: string;
  /** Do nothing with received URLs (the test inspects them with urls()). */
  passive?: boolean;
  /** Accept any certificate (an IdP with a test CA the browser does not know). */
  ignoreHttpsErrors?: boolean;
  /** Browse through this HTTP proxy (loopback addresses still go direct, as Chromium always does). */
  proxy?: { server: string; username?: string; password?: string };
  /** Wait this long (ms) before signing in: a user slow at the IdP's page. */
  delayMs?: number;
}

export interface BrowserHook {
  /** Put this in the gatepass child's environment. */
  env: { GATEPASS_BROWSER: string };
  /** Completed logins (the browser reached gatepass' callback page). */
  logins(): number;
  /** URLs received so far. */
  urls(): string[];
  /** Text of the last callback page the browser ended on. */
  lastPageText(): string | undefined;
  /** Errors from driving the browser (a test can assert this is empty). */
  errors(): string[];
  /**
   * Drive the browser through the IdP pages at `url` (e.g. a device-flow verification URI) and
   * return the text of the page it ends on. Not counted in logins().
   */
  visit(url: string): Promise<string>;
  /** Resolves when `n` logins completed (or rejects after timeoutMs). */
  waitForLogins(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBrowserHook(options: BrowserHookOptions = {}): Promise<BrowserHook> {
  const received: string[] = [];
  const errors: string[] = [];
  let completed = 0;
  let lastText: string | undefined;
  let browser: Browser | undefined;
  const pending: Promise<void>[] = [];

  const getBrowser = async (): Promise<Browser> => {
    if (!browser) {
      // playwright gives every launch a fresh temporary profile (its own --user-data-dir).
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
        // Playwright sends loopback through a proxy too (`<-loopback>`): keep gatepass' callback direct.
        ...(options.proxy ? { proxy: { bypass: '127.0.0.1,localhost,[::1]', ...options.proxy } } : {}),
      });
    }
    return browser;
  };

  const drive = async (url: string, count = true): Promise<string> => {
    const b = await getBrowser();
    const context = await b.newContext({ ignoreHTTPSErrors: options.ignoreHttpsErrors ?? false });
    try {
      const page = await context.newPage();
      await page.goto(url);
      // oidc-provider's devInteractions: a login form, then a consent form. Either may be skipped
      // when a session or grant exists. Stop when we land on a non-IdP page (gatepass' callback).
      const idpOrigin = new URL(url).origin;
      for (let step = 0; step < 8; step++) {
        if (new URL(page.url()).origin !== idpOrigin) break;
        const loginInput = page.locator('input[name="login"]');
        const userCode = page.locator('input[name="user_code"]:not([type="hidden"])');
        if (await userCode.count()) {
          // Device flow: the verification URI without the complete code (not used by gatepass).
          break;
        }
        if (await loginInput.count()) {
          await loginInput.fill(options.login ?? 'alice');
          await page.locator('input[name="password"]').fill('password');
          await clickAndWait(page, page.locator('button[type="submit"]'));
          continue;
        }
        const submit = page.locator('button[type="submit"]');
        if (await submit.count()) {
          await clickAndWait(page, submit.first());
          continue;
        }
        break;
      }
      await page.waitForLoadState('load').catch(() => {});
      const text = (await page.textContent('body').catch(() => null)) ?? '';
      if (!count) return text;
      lastText = text;
      if (new URL(page.url()).origin !== idpOrigin) completed += 1;
      else errors.push(`browser stayed on the IdP at ${new URL(page.url()).pathname}`);
      return text;
    } finally {
      await context.close().catch(() => {});
    }
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      res.end('ok');
      received.push(body);
      if (!options.passive && body) {
        const delay = new Promise((r) => setTimeout(r, options.delayMs ?? 0));
        pending.push(
          delay
            .then(() => drive(body))
            .then(
              () => {},
              (err: unknown) => void errors.push(String(err)),
            ),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    env: { GATEPASS_BROWSER: `${process.execPath} ${HOOK} ${endpoint}` },
    logins: () => completed,
    urls: () => [...received],
    lastPageText: () => lastText,
    errors: () => [...errors],
    visit: (url) => drive(url, false),
    async waitForLogins(n, timeoutMs = 30_000) {
      const start = Date.now();
      while (completed < n) {
        if (Date.now() - start > timeoutMs) throw new Error(`only ${completed} of ${n} logins completed`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await Promise.allSettled(pending);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await browser?.close().catch(() => {});
    },
  };
}

async function clickAndWait(page: Page, button: Locator): Promise<void> {
  const before = page.url();
  await Promise.all([
    page.waitForURL((u) => u.href !== before, { timeout: 15_000, waitUntil: 'load' }).catch(() => {}),
    button.click(),
  ]);
}
