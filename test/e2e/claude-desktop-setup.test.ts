/**
 * End to end for Claude Desktop's wiring with the built CLI (the app itself does not run on Linux):
 * `gatepass setup --tools claude-desktop` writes the configLibrary document; running its
 * credential helper the way Claude Desktop does (an executable, no arguments, CLAUDE_HELPER_CONTEXT
 * set) prints exactly the token, and a Messages request with that bearer to the document's base
 * URL reaches the gateway. Teardown removes the document and the helper.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { makeToolHome, type ToolHome } from '../helpers/tool-e2e.js';

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

const runHelper = (file: string, context: string) =>
  runProcess(file, [], { env: { ...t.env, CLAUDE_HELPER_CONTEXT: context }, cwd: '/' });

it("Claude Desktop's credential helper prints the gateway token; the document points at the gateway", async () => {
  const lib = path.join(t.home, '.config/Claude-3p/configLibrary');
  mkdirSync(lib, { recursive: true });
  const setup = await t.gp(['setup', '--tools', 'claude-desktop', '--lazy', '--models', 'claude-test']);
  expect(setup.code, setup.stderr).toBe(0);
  expect(setup.stderr).toMatch(/quit Claude Desktop completely and relaunch it/);
  const meta = JSON.parse(readFileSync(path.join(lib, '_meta.json'), 'utf8'));
  const doc = JSON.parse(readFileSync(path.join(lib, `${meta.appliedId}.json`), 'utf8'));
  expect(doc).toMatchObject({
    inferenceProvider: 'gateway',
    inferenceGatewayBaseUrl: fake.url, // the fake serves no /anthropic prefix: the probe found none
    inferenceCredentialHelperTtlSec: 300,
    inferenceCredentialHelperTimeoutSec: 360, // a whole login plus a minute
    inferenceModels: ['claude-test'],
  });

  for (const context of ['background', 'interactive']) {
    const r = await runHelper(doc.inferenceCredentialHelper, context);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${t.token}\n`);
  }

  const client = new Anthropic({
    authToken: t.token,
    apiKey: null,
    baseURL: doc.inferenceGatewayBaseUrl,
    maxRetries: 0,
  });
  const m = await client.messages.create({
    model: 'claude-test',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(JSON.stringify(m.content)).toContain(FAKE_REPLY);
  expect(fake.requests.find((q) => q.method === 'POST')?.authorization).toBe(`Bearer ${t.token}`);

  const td = await t.gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(existsSync(doc.inferenceCredentialHelper)).toBe(false);
  expect(existsSync(path.join(lib, `${meta.appliedId}.json`))).toBe(false);
  expect(existsSync(path.join(lib, '_meta.json'))).toBe(false);
  expect(existsSync(lib)).toBe(true);
});
