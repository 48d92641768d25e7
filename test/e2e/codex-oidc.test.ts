/**
 * Issue #5's end-to-end acceptance for Codex with real parts: a normal (not lazy) `gatepass setup`
 * signs in through the real IdP (oidc-provider) in headless Chromium while wiring Codex; `codex
 * exec` then runs `gatepass token` as its provider's auth command, and the local fake gateway
 * receives a JWT that verifies against the IdP's keys. A second run signs in no more.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { BIN, oidcSetupFlags, runTool } from '../helpers/tool-e2e.js';

let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let t: TempHome;
beforeAll(async () => {
  [idp, hook, fake] = await Promise.all([startTestIdp(), startBrowserHook(), startFakeLlm()]);
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    CODEX_DISABLE_UPDATE_CHECK: '1',
    ...hook.env,
  });
  for (const k of Object.keys(t.env)) if (/^(OPENAI_|CODEX_HOME$)/.test(k)) delete t.env[k];
});
afterAll(async () => {
  await fake?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

it('setup signs in and wires Codex; codex exec sends a JWT the IdP signed', async () => {
  const setup = await runGatepass(['setup', ...(await oidcSetupFlags(fake.url, idp, 'codex'))], {
    env: t.env,
    cwd: t.home,
    timeoutMs: 120_000,
  });
  expect(setup.code, setup.stderr).toBe(0);
  // The hook counts a login once its page has settled, which can be just after gatepass got the
  // callback and exited.
  await hook.waitForLogins(1, 10_000);
  expect(hook.logins()).toBe(1);
  expect(readFileSync(t.configFile, 'utf8')).toMatch(/secret_key: LLM_OAUTH_[0-9a-f]{8}/);

  const first = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(FAKE_REPLY);
  const calls = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');
  expect(calls.length).toBeGreaterThan(0);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  for (const q of calls) {
    expect(q.authorization).toMatch(/^Bearer ey/);
    const { payload } = await jwtVerify(q.authorization!.slice(7), jwks, { issuer: idp.issuer });
    expect(payload.aud).toContain(idp.audience);
  }

  const second = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi again']);
  expect(second.code, second.stderr).toBe(0);
  expect(hook.logins()).toBe(1);
});
