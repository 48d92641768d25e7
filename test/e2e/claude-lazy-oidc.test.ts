/**
 * The lazy-setup acceptance end to end: `gatepass setup --lazy` wires Claude Code with no browser
 * and no token; the first `claude -p` runs `gatepass token` as its apiKeyHelper, which signs in
 * through the real IdP (oidc-provider) in headless Chromium; the fake gateway receives a JWT signed
 * by that IdP; the next run does not sign in again.
 *
 * The IdP and browser helpers come with the OIDC login work (test/helpers/idp.ts, browser.ts); they
 * are loaded at run time so this file type-checks before that merge, and the test fails loudly (it
 * never skips) until they exist.
 */

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LAZY_MESSAGE } from '../../src/setup/setup.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { BIN, runTool } from '../helpers/tool-e2e.js';

interface TestIdp {
  issuer: string;
  clientId: string;
  audience: string;
  jwksUri: string;
  close(): Promise<void>;
}
interface BrowserHook {
  env: Record<string, string>;
  logins(): number;
  waitForLogins(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function helper<T>(name: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ `../helpers/${name}.js`)) as T;
  } catch (err) {
    throw new Error(
      `test/helpers/${name}.ts (from the OIDC login work) could not be loaded (${(err as Error).message}); this e2e test goes green once it is merged`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let idp: TestIdp | undefined;
let hook: BrowserHook | undefined;
let fake: FakeLlm;
let t: TempHome;
beforeAll(async () => {
  fake = await startFakeLlm();
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  });
  for (const k of Object.keys(t.env)) if (/^(ANTHROPIC_|CLAUDE_CONFIG_DIR$)/.test(k)) delete t.env[k];
});
afterAll(async () => {
  await fake?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

it('lazy setup, then the first claude -p signs in through the real IdP and sends its JWT', async () => {
  const { startTestIdp } = await helper<{ startTestIdp(): Promise<TestIdp> }>('idp');
  const { startBrowserHook } = await helper<{ startBrowserHook(): Promise<BrowserHook> }>('browser');
  idp = await startTestIdp();
  hook = await startBrowserHook();
  Object.assign(t.env, hook.env);

  const setup = await runGatepass(
    [
      'setup',
      '--gateway-url',
      fake.url,
      '--issuer',
      idp.issuer,
      '--client-id',
      idp.clientId,
      '--callback-port',
      String(await freePort()),
      '--tools',
      'claude',
      '--lazy',
    ],
    { env: t.env, cwd: t.home },
  );
  expect(setup.code, setup.stderr).toBe(0);
  expect(setup.stdout).toBe(`${LAZY_MESSAGE}\n`);
  expect(hook.logins()).toBe(0);
  expect(readFileSync(t.configFile, 'utf8')).not.toContain('token_ref');

  const first = await runTool(t, 'claude', ['-p', 'hi']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(FAKE_REPLY);
  await hook.waitForLogins(1, 10_000);
  const auth = fake.requests.find((q) => q.path === '/v1/messages')?.authorization ?? '';
  expect(auth).toMatch(/^Bearer ey/);
  const { payload } = await jwtVerify(auth.slice(7), createRemoteJWKSet(new URL(idp.jwksUri)), {
    issuer: idp.issuer,
  });
  expect(payload.aud).toContain(idp.audience);

  const second = await runTool(t, 'claude', ['-p', 'hi again']);
  expect(second.code, second.stderr).toBe(0);
  expect(hook.logins()).toBe(1); // cached / refreshed token: no second login
});
