/**
 * End to end with the real Claude Code and Codex against a gateway serving its APIs under /anthropic
 * and /openai: setup's probe finds the prefixes; --bedrock-compat makes `claude -p` ask for a model
 * from --models; a later setup keeps that, and --no-bedrock-compat takes those settings away again.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { makeToolHome, runTool, type ToolHome } from '../helpers/tool-e2e.js';

let fake: FakeLlm;
let t: ToolHome;
beforeEach(async () => {
  fake = await startFakeLlm({ layout: 'prefixed' });
  t = await makeToolHome(fake.url);
});
afterEach(async () => {
  await fake.close();
  t.cleanup();
});

const MODELS = ['gw.claude-haiku-test', 'gw.claude-sonnet-test', 'gw.claude-opus-test'];

it('claude -p reaches <gateway>/anthropic and asks for a --models model under --bedrock-compat', async () => {
  const setup = await t.gp([
    'setup',
    '--tools',
    'claude',
    '--lazy',
    '--models',
    MODELS.join(','),
    '--bedrock-compat',
  ]);
  expect(setup.code, setup.stderr).toBe(0);
  const settingsFile = path.join(t.home, '.claude/settings.json');
  const env = JSON.parse(readFileSync(settingsFile, 'utf8')).env;
  expect(env).toMatchObject({
    ANTHROPIC_BASE_URL: `${fake.url}/anthropic`,
    CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS: '1',
    ANTHROPIC_DEFAULT_SONNET_MODEL: 'gw.claude-sonnet-test',
  });

  const r = await runTool(t, 'claude', ['-p', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const messages = fake.requests.filter((q) => q.method === 'POST' && q.path === '/anthropic/v1/messages');
  expect(messages.length).toBeGreaterThan(0);
  for (const q of messages) {
    expect(q.authorization).toBe(`Bearer ${t.token}`);
    expect(MODELS).toContain(JSON.parse(q.body).model);
  }

  const kept = await t.gp(['setup', '--tools', 'claude', '--lazy']);
  expect(kept.code, kept.stderr).toBe(0);
  expect(JSON.parse(readFileSync(settingsFile, 'utf8')).env).toMatchObject({
    CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS: '1',
  });
  const again = await t.gp(['setup', '--tools', 'claude', '--lazy', '--no-bedrock-compat']);
  expect(again.code, again.stderr).toBe(0);
  const env2 = JSON.parse(readFileSync(settingsFile, 'utf8')).env;
  expect(Object.keys(env2).sort()).toEqual(['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_API_KEY_HELPER_TTL_MS']);
  expect(env2.ANTHROPIC_BASE_URL).toBe(`${fake.url}/anthropic`);
});

it('codex exec reaches <gateway>/openai/v1/responses found by the probe', async () => {
  mkdirSync(path.join(t.home, '.codex'), { recursive: true });
  const setup = await t.gp(['setup', '--tools', 'codex', '--lazy']);
  expect(setup.code, setup.stderr).toBe(0);
  const cfg = TOML.parse(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8'));
  expect(cfg.model_providers.gatepass.base_url).toBe(`${fake.url}/openai/v1`);
  const r = await runTool(t, 'codex', ['exec', '--skip-git-repo-check', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  expect(fake.requests.some((q) => q.method === 'POST' && q.path === '/openai/v1/responses')).toBe(true);
});
