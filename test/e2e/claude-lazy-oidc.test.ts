/**
 * The lazy-setup acceptance end to end: `gatepass setup --lazy` wires Claude Code with no browser
 * and no token; the first `claude -p` runs `gatepass token` as its apiKeyHelper, which signs in
 * through the real IdP (oidc-provider) in headless Chromium; the fake gateway receives a JWT signed
 * by that IdP; the next run does not sign in again.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LAZY_MESSAGE } from '../../src/setup/setup.js';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { BIN, oidcSetupFlags, runTool } from '../helpers/tool-e2e.js';

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
  idp = await startTestIdp();
  hook = await startBrowserHook();
  Object.assign(t.env, hook.env);

  const setup = await runGatepass(['setup', ...(await oidcSetupFlags(fake.url, idp, 'claude')), '--lazy'], {
    env: t.env,
    cwd: t.home,
  });
  expect(setup.code, setup.stderr).toBe(0);
  // The notice is for the person running setup: stderr; stdout stays empty.
  expect(setup.stdout).toBe('');
  expect(setup.stderr).toContain(LAZY_MESSAGE);
  expect(hook.logins()).toBe(0);
  expect(readFileSync(t.configFile, 'utf8')).not.toContain('token_ref');

  const first = await runTool(t, 'claude', ['-p', 'hi']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(FAKE_REPLY);
  await hook.waitForLogins(1, 10_000);
  const messages = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/messages');
  expect(messages.length).toBeGreaterThan(0);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  for (const q of messages) {
    expect(q.authorization).toMatch(/^Bearer ey/);
    const { payload } = await jwtVerify(q.authorization!.slice(7), jwks, { issuer: idp.issuer });
    expect(payload.aud).toContain(idp.audience);
  }

  const second = await runTool(t, 'claude', ['-p', 'hi again']);
  expect(second.code, second.stderr).toBe(0);
  expect(hook.logins()).toBe(1); // cached / refreshed token: no second login
});
