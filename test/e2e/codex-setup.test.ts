/**
 * End to end with the real Codex CLI from npm: `gatepass setup --lazy` adds a gatepass model
 * provider whose auth command runs `gatepass token`; `codex exec hi` reaches a local fake gateway
 * (OpenAI Responses API, SSE) carrying that token; teardown restores the user's config.toml.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { expectGatepassToken, makeToolHome, runTool, type ToolHome } from '../helpers/tool-e2e.js';

let fake: FakeLlm;
let t: ToolHome;
beforeEach(async () => {
  fake = await startFakeLlm();
  t = await makeToolHome(fake.url);
});
afterEach(async () => {
  await fake.close();
  t.cleanup();
});

it('codex exec reaches the gateway with the bearer token gatepass token prints', async () => {
  const configFile = path.join(t.home, '.codex/config.toml');
  const original =
    '# my Codex settings\nmodel_provider = "openai" # the default\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n';
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(configFile, original);

  const setup = await t.gp(['setup', '--tools', 'codex', '--lazy']);
  expect(setup.code, setup.stderr).toBe(0);
  const cfg = TOML.parse(readFileSync(configFile, 'utf8'));
  expect(cfg.model_provider).toBe('gatepass');
  expect(cfg.model_providers.gatepass).toMatchObject({ base_url: `${fake.url}/v1`, wire_api: 'responses' });
  expect(cfg.model_providers.gatepass.auth.args.slice(-3)).toEqual(['token', '--min-valid', '600']);

  await expectGatepassToken(t);

  const r = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const calls = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');
  expect(calls.length).toBeGreaterThan(0);
  // Setup's gateway-layout probe sends HEAD requests without credentials; Codex's all carry the token.
  for (const q of fake.requests.filter((x) => x.method !== 'HEAD'))
    expect(q.authorization).toBe(`Bearer ${t.token}`);

  const td = await t.gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(readFileSync(configFile, 'utf8')).toBe(original);
});
