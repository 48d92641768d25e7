/**
 * Issue #20's MCP wiring for Codex CLI, end to end with the real `codex` from npm: `gatepass setup`
 * wires Codex to a local fake gateway, `gatepass mcp add` puts a local MCP server (the official SDK's
 * streamable-HTTP server, accepting only the provider's token) into `~/.codex/config.toml` as the
 * proxy's `/mcp/NAME` route with the local key. `codex mcp get` parses what gatepass wrote as a
 * streamable-HTTP server; `codex exec` then starts it through the real `gatepass proxy`: the MCP
 * server lists its tools to Codex with the provider's token and Codex offers them to the model (their
 * namespace is in the request the gateway receives). Teardown gives config.toml back byte for byte.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startMcpServer, type TestMcpServer } from '../helpers/mcp-server.js';
import { freePort } from '../helpers/ports.js';
import { makeToolHome, runTool, type ToolHome } from '../helpers/tool-e2e.js';

let fake: FakeLlm;
let mcp: TestMcpServer;
let t: ToolHome;
let altConfig: string;
beforeEach(async () => {
  fake = await startFakeLlm();
  t = await makeToolHome(fake.url);
  t.env['GP_WORK_TOKEN'] = t.token;
  mcp = await startMcpServer(async (tok) => tok === t.token);
  // A second config file (--config) with a named provider and its own proxy port.
  altConfig = path.join(t.home, 'alt/gatepass.yaml');
  mkdirSync(path.dirname(altConfig), { recursive: true });
  writeFileSync(
    altConfig,
    `version: 1
default_provider: other
providers:
  other:
    type: command
    gateway_url: ${fake.url}
    auth: { env_var: NOPE_TOKEN }
  work:
    type: command
    gateway_url: ${fake.url}
    auth: { env_var: GP_WORK_TOKEN }
proxy:
  listen_port: ${await freePort()}
`,
  );
});
afterEach(async () => {
  await t.gp(['--config', altConfig, 'proxy', 'stop']);
  await mcp.close();
  await fake.close();
  t.cleanup();
});

const gp = (args: string[]) => t.gp(['--config', altConfig, '--provider', 'work', ...args]);

it('codex reaches an MCP server added with gatepass mcp add through the proxy, with the provider token', async () => {
  const configFile = path.join(t.home, '.codex/config.toml');
  const original =
    '# my Codex settings\nmodel_provider = "openai" # the default\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\nenabled = false\n';
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(configFile, original);

  const setup = await gp(['setup', '--tools', 'codex', '--lazy']);
  expect(setup.code, setup.stderr).toBe(0);
  const add = await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'codex']);
  expect(add.code, add.stderr).toBe(0);

  // Codex parses what gatepass wrote as a streamable-HTTP server sending the local key.
  const get = await runTool(t, 'codex', ['mcp', 'get', 'wiki', '--json']);
  expect(get.code, get.stderr).toBe(0);
  const server = JSON.parse(get.stdout);
  expect(server).toMatchObject({ name: 'wiki', enabled: true });
  expect(server.transport.type).toBe('streamable_http');
  const port = /listen_port: (\d+)/.exec(readFileSync(altConfig, 'utf8'))![1];
  expect(server.transport.url).toBe(`http://127.0.0.1:${port}/mcp/wiki`);
  expect(server.transport.http_headers.Authorization).toMatch(/^Bearer gp_local_/);

  const start = await gp(['proxy', 'start', '--background']);
  expect(start.code, start.stderr).toBe(0);
  const r = await runTool(t, 'codex', [
    'exec',
    '--skip-git-repo-check',
    // A loaded machine: give the MCP server's start-up more than Codex' default 10 s.
    '-c',
    'mcp_servers.wiki.startup_timeout_sec=120',
    'hi',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  // The MCP server listed its tools to Codex, each request with the provider's token.
  expect(mcp.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['initialize', 'tools/list']));
  for (const c of mcp.calls) expect(c.authorization, c.method).toBe(`Bearer ${t.token}`);
  // Codex offered the server's tools to the model (0.169 defers MCP tools: it names their namespace).
  const turns = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/responses');
  expect(turns.length).toBeGreaterThan(0);
  expect(turns.some((q) => q.body.includes('mcp__wiki'))).toBe(true);

  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(readFileSync(configFile, 'utf8')).toBe(original);
});
