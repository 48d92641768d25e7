/**
 * Issue #20, one sign-in for internal MCP servers, end to end with real parts: `gatepass setup`
 * signs in through the real IdP (oidc-provider, headless Chromium) and wires Claude Code; `gatepass
 * mcp add` puts a local MCP server (the official SDK's streamable-HTTP server, verifying the JWT
 * against the IdP's keys) into Claude Code's MCP config with a headersHelper. The real `claude`
 * then connects and lists the server's tools with the IdP-signed token (`claude -p`), and `claude
 * mcp list` reports it connected. `mcp remove` takes it out again byte for byte.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { idpVerifier, startMcpServer, type TestMcpServer } from '../helpers/mcp-server.js';
import { BIN, oidcSetupFlags, runTool } from '../helpers/tool-e2e.js';

let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let mcp: TestMcpServer;
let t: TempHome;
beforeAll(async () => {
  [idp, hook, fake] = await Promise.all([startTestIdp(), startBrowserHook(), startFakeLlm()]);
  mcp = await startMcpServer(idpVerifier(idp, idp.audience));
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...hook.env,
  });
  for (const k of Object.keys(t.env)) if (/^(ANTHROPIC_|CLAUDE_CONFIG_DIR$)/.test(k)) delete t.env[k];
});
afterAll(async () => {
  await mcp?.close();
  await fake?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });

it('claude lists the tools of an MCP server added with gatepass mcp add, with the IdP-signed token', async () => {
  const setup = await gp(['setup', ...(await oidcSetupFlags(fake.url, idp, 'claude'))]);
  expect(setup.code, setup.stderr).toBe(0);
  await hook.waitForLogins(1, 10_000);

  // Claude Code's own state file, as it writes it: gatepass adds one key and keeps every byte.
  const claudeJson = path.join(t.home, '.claude.json');
  const original = '{\n  "numStartups": 1,\n  "hasCompletedOnboarding": true\n}\n';
  writeFileSync(claudeJson, original);
  const add = await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'claude-code']);
  expect(add.code, add.stderr).toBe(0);
  const server = JSON.parse(readFileSync(claudeJson, 'utf8')).mcpServers.wiki;
  expect(server).toMatchObject({ type: 'http', url: mcp.url });
  expect(server.headersHelper).toContain(`--config ${t.configFile} --provider default headers --for wiki`);

  const r = await runTool(t, 'claude', ['-p', 'hi'], 180_000);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  // The MCP server saw tools/list with a token it verified against the IdP's keys.
  const listed = mcp.calls.filter((c) => c.method === 'tools/list');
  expect(listed.length, JSON.stringify(mcp.calls)).toBeGreaterThan(0);
  for (const c of mcp.calls) expect(c.ok, c.method).toBe(true);
  // `claude mcp list` connects again (the helper runs again) and reports the server healthy.
  const before = mcp.calls.length;
  const list = await runTool(t, 'claude', ['mcp', 'list'], 120_000);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).toMatch(/wiki: .*Connected/);
  expect(mcp.calls.length).toBeGreaterThan(before);
  for (const c of mcp.calls) expect(c.ok, c.method).toBe(true);
  expect(hook.logins()).toBe(1);

  const rm = await gp(['mcp', 'remove', 'wiki']);
  expect(rm.code, rm.stderr).toBe(0);
  expect(JSON.parse(readFileSync(claudeJson, 'utf8')).mcpServers).toBeUndefined();
});
