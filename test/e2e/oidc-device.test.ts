/** `gatepass login --device` (RFC 8628) against the real IdP, confirmed in the headless browser. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { gatepassArgv, runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
let home: OidcHome;
beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook({ passive: true });
  home = await configureOidcHome(idp, undefined, { GATEPASS_INTERACTIVE: '0' });
});
afterAll(async () => {
  home?.cleanup();
  await hook?.close();
  await idp?.close();
});

it('logs in with the device grant, then `gatepass token` works', async () => {
  const child = spawn(...gatepassArgv(['login', '--device', '--timeout', '60']), {
    env: home.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no verification URL: ${stderr}`)), 20_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /visit:\s+(\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  expect(stderr).toMatch(/confirm the code: \S+/);
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let text: string;
  try {
    text = await hook.visit(url);
  } catch (err) {
    child.kill();
    throw err;
  }
  if (!/success/i.test(text)) child.kill();
  expect(text).toMatch(/success/i);
  const code = await closed;
  expect(code, stderr).toBe(0);
  expect(stdout).toBe('');
  expect(idp.grantCount('urn:ietf:params:oauth:grant-type:device_code')).toBe(1);
  const t = await runGatepass(['token'], { env: home.env });
  expect(t.code, t.stderr).toBe(0);
  expect(t.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
});

it('an IdP without the device grant: `login --device` fails clearly, before asking anything', async () => {
  const plain = await startTestIdp({ deviceFlow: false });
  const other = await configureOidcHome(plain, undefined, { GATEPASS_INTERACTIVE: '0' });
  try {
    const r = await runGatepass(['login', '--device'], { env: other.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`the identity provider at ${plain.issuer} does not support device login`);
    expect(r.stderr).toContain('hint: use `gatepass login`');
    expect(r.stderr).not.toContain('visit:');
    expect(plain.counts.tokenRequests).toEqual({});
  } finally {
    other.cleanup();
    await plain.close();
  }
});
