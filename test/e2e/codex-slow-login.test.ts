/**
 * Codex kills its provider's auth command after `auth.timeout_ms` (5 s by default) and retries, so
 * a first sign-in started by the helper after a lazy setup used to be cut off again and again (a new
 * browser tab each time). Setup writes a timeout_ms covering a whole login: with real `codex exec`,
 * the real IdP and a browser that takes 12 s to sign in, Codex waits for the one login and its
 * request reaches the gateway with the IdP's JWT.
 */
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
  [idp, hook, fake] = await Promise.all([
    startTestIdp(),
    startBrowserHook({ delayMs: 12_000 }),
    startFakeLlm(),
  ]);
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

it('a lazy setup wires Codex with a timeout_ms covering a login; a 12 s sign-in through codex exec finishes', async () => {
  const setup = await runGatepass(['setup', ...(await oidcSetupFlags(fake.url, idp, 'codex')), '--lazy'], {
    env: t.env,
    cwd: t.home,
    timeoutMs: 60_000,
  });
  expect(setup.code, setup.stderr).toBe(0);
  expect(hook.urls()).toHaveLength(0);

  const run = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi'], 180_000);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain(FAKE_REPLY);
  // One login, not one per Codex retry.
  expect(hook.urls()).toHaveLength(1);
  await hook.waitForLogins(1, 30_000);
  const calls = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');
  expect(calls.length).toBeGreaterThan(0);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  for (const q of calls) {
    const { payload } = await jwtVerify(q.authorization!.slice(7), jwks, { issuer: idp.issuer });
    expect(payload.aud).toContain(idp.audience);
  }
});
