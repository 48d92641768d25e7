/**
 * The real Claude Code against an HTTPS gateway whose certificate comes from a private CA: it fails
 * without the CA, and works once `gatepass setup --ca-file` wrote env.NODE_EXTRA_CA_CERTS into its
 * settings — proof that Claude Code reads what gatepass writes. Clearing the option (re-setup) takes
 * the key out again.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';
import { makeToolHome, runTool, type ToolHome } from '../helpers/tool-e2e.js';

let ca: TestCa;
let fake: FakeLlm;
let t: ToolHome;
beforeAll(async () => {
  ca = makeTestCa();
  fake = await startFakeLlm({ tls: ca.server });
  t = await makeToolHome(fake.url);
  // Fail fast on the TLS error instead of retrying with backoff.
  t.env['CLAUDE_CODE_MAX_RETRIES'] = '0';
});
afterAll(async () => {
  await fake?.close();
  t?.cleanup();
  ca?.cleanup();
});

const settings = () =>
  JSON.parse(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8')) as {
    env: Record<string, string>;
  };
const messages = () => fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/messages');

it('claude -p reaches an HTTPS gateway with a private CA only once --ca-file is set', async () => {
  let r = await t.gp(['setup', '--tools', 'claude', '--lazy']);
  expect(r.code, r.stderr).toBe(0);
  r = await runTool(t, 'claude', ['-p', 'hi'], 60_000);
  expect(r.code).not.toBe(0);
  expect(messages()).toEqual([]);

  r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--ca-file', ca.caFile]);
  expect(r.code, r.stderr).toBe(0);
  expect(settings().env['NODE_EXTRA_CA_CERTS']).toBe(ca.caFile);
  r = await runTool(t, 'claude', ['-p', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  expect(messages().length).toBeGreaterThan(0);
  for (const q of messages()) expect(q.authorization).toBe(`Bearer ${t.token}`);

  // Cleared: re-setup removes the key again.
  r = await t.gp(['config', 'unset', '--provider', 'e2e', 'tls.ca_file']);
  expect(r.code, r.stderr).toBe(0);
  r = await t.gp(['setup', '--tools', 'claude', '--lazy']);
  expect(r.code, r.stderr).toBe(0);
  expect(settings().env).not.toHaveProperty('NODE_EXTRA_CA_CERTS');

  // --tls-skip-verify: written as NODE_TLS_REJECT_UNAUTHORIZED=0, which Claude Code honours; the
  // warning is printed; clearing it removes the key.
  const before = messages().length;
  r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--tls-skip-verify']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/WARNING: TLS certificate verification is OFF/);
  expect(settings().env['NODE_TLS_REJECT_UNAUTHORIZED']).toBe('0');
  r = await runTool(t, 'claude', ['-p', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(messages().length).toBeGreaterThan(before);
  r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--tls-skip-verify', 'false']);
  expect(r.code, r.stderr).toBe(0);
  expect(settings().env).not.toHaveProperty('NODE_TLS_REJECT_UNAUTHORIZED');
});
