/**
 * End to end with the real Claude Code: a gateway serving the Anthropic API under /anthropic is
 * found by setup's probe, and --bedrock-compat makes `claude -p` ask for a model from --models;
 * a later setup without the flag takes those settings away again.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
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

  const again = await t.gp(['setup', '--tools', 'claude', '--lazy']);
  expect(again.code, again.stderr).toBe(0);
  const env2 = JSON.parse(readFileSync(settingsFile, 'utf8')).env;
  expect(Object.keys(env2).sort()).toEqual(['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_API_KEY_HELPER_TTL_MS']);
  expect(env2.ANTHROPIC_BASE_URL).toBe(`${fake.url}/anthropic`);
});
