/**
 * Codex CLI and a gateway with a private CA: Codex reads a custom CA only from its environment, so
 * `gatepass setup --ca-file` writes nothing CA-related into config.toml and tells the user to export
 * CODEX_CA_CERTIFICATE — this checks that advice with the real Codex against an HTTPS gateway whose
 * certificate comes from a CA made by the test.
 */
import { mkdirSync, readFileSync } from 'node:fs';
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
});
afterAll(async () => {
  await fake?.close();
  t?.cleanup();
  ca?.cleanup();
});

const calls = () => fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');

it('setup --ca-file tells the user about CODEX_CA_CERTIFICATE, which the real Codex honours', async () => {
  mkdirSync(path.join(t.home, '.codex'));
  const setup = await t.gp(['setup', '--tools', 'codex', '--lazy', '--ca-file', ca.caFile]);
  expect(setup.code, setup.stderr).toBe(0);
  expect(setup.stderr).toContain(`export CODEX_CA_CERTIFICATE=${ca.caFile}`);
  expect(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8')).not.toMatch(/CA_CERT|SSL_CERT/);

  // (Without it Codex cannot complete a TLS handshake with the gateway and retries with backoff for
  // minutes; the CA was made by this test, so no system root can vouch for the gateway.)
  t.env['CODEX_CA_CERTIFICATE'] = ca.caFile;
  const r = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  expect(calls().length).toBeGreaterThan(0);
  for (const q of calls()) expect(q.authorization).toBe(`Bearer ${t.token}`);
});
