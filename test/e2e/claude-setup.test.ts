/**
 * End to end with the real Claude Code from npm: `gatepass setup --lazy` wires it in a temp HOME,
 * `claude -p hi` reaches a local fake gateway, and the gateway receives the token `gatepass token`
 * prints as the bearer (Claude Code runs the apiKeyHelper gatepass wrote).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { GATEPASS_BINARY } from '../helpers/cli.js';
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

it('claude -p reaches the gateway with the bearer token gatepass token prints', async () => {
  const setup = await t.gp(['setup', '--tools', 'claude', '--lazy']);
  expect(setup.code, setup.stderr).toBe(0);
  const settingsFile = path.join(t.home, '.claude/settings.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
  // An absolute command line: gatepass' launcher (absolute node + the real dist/cli.js, or the single
  // executable under test), pinned to the config file and provider of the setup. Nothing depends on
  // the tool's PATH.
  const launcher = path.join(t.home, '.local/share/gatepass/bin/gatepass');
  expect(settings.apiKeyHelper).toBe(
    `${launcher} --config ${t.configFile} --provider e2e token --min-valid 600`,
  );
  expect(readFileSync(launcher, 'utf8')).toMatch(
    GATEPASS_BINARY
      ? `exec '${GATEPASS_BINARY}' "$@"`
      : new RegExp(`exec '${process.execPath}' '[^']*/dist/cli\\.cjs' "\\$@"`),
  );
  expect(settings.env).toMatchObject({
    ANTHROPIC_BASE_URL: fake.url,
    CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '300000',
  });

  await expectGatepassToken(t);

  const r = await runTool(t, 'claude', ['-p', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const messages = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/messages');
  expect(messages.length).toBeGreaterThan(0);
  for (const q of messages) expect(q.authorization).toBe(`Bearer ${t.token}`);

  // Teardown removes the settings file gatepass created (Claude Code may have added its own files
  // next to it, which stay).
  const td = await t.gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(existsSync(settingsFile)).toBe(false);
});
