/**
 * Issue #20's MCP wiring for OpenCode, end to end with the real `opencode` from npm: `gatepass setup`
 * (a config file of the user's own, a named provider) signs in through the real IdP and wires
 * OpenCode's model to `gatepass proxy`; `gatepass mcp add` puts a local MCP server (the official
 * SDK's streamable-HTTP server, verifying the JWT against the IdP's keys) into `opencode.json` as a
 * remote server at the proxy's `/mcp/NAME` route with the local key. `opencode mcp list` connects
 * and reports it connected, and `opencode run` offers its tool to the model (the tool is in the
 * request the fake gateway receives): the MCP server saw only the provider's IdP-signed token.
 * `mcp remove` and teardown give opencode.json back byte for byte.
 */
import { readFileSync } from 'node:fs';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrowserHook } from '../helpers/browser.js';
import type { TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm } from '../helpers/fake-llm.js';
import type { TestIdp } from '../helpers/idp.js';
import { idpVerifier, MCP_TOOL, startMcpServer, type TestMcpServer } from '../helpers/mcp-server.js';
import { type OpencodeLab, startOpencodeLab } from '../helpers/opencode-lab.js';
import { OPENCODE_OFFLINE_ENV, opencodeBin, runTool } from '../helpers/tool-e2e.js';

const MODEL = 'gp-fake-model';

let lab: OpencodeLab;
let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let mcp: TestMcpServer;
let t: TempHome;
let gp: OpencodeLab['gp'];
beforeAll(async () => {
  lab = await startOpencodeLab();
  ({ idp, hook, fake, t, gp } = lab);
  mcp = await startMcpServer(idpVerifier(idp, idp.audience));
});
afterAll(async () => {
  await mcp?.close();
  await lab?.close();
});
const opencode = (args: string[]) => runTool(t, opencodeBin(), args, 150_000, OPENCODE_OFFLINE_ENV);

it('opencode reaches an MCP server added with gatepass mcp add through the proxy, with the IdP-signed token', async () => {
  const configFile = lab.opencodeFile;
  const original =
    '{\n  "$schema": "https://opencode.ai/config.json",\n  "mcp": {\n    // off for now\n    "docs": { "type": "local", "command": ["docs-mcp"], "enabled": false }\n  }\n}\n';
  const proxyPort = await lab.setupOpencode(original, MODEL);
  await hook.waitForLogins(1, 10_000);
  const wiredModel = readFileSync(configFile, 'utf8');
  const add = await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'opencode']);
  expect(add.code, add.stderr).toBe(0);
  const server = parseJsonc(readFileSync(configFile, 'utf8')).mcp.wiki;
  expect(server).toMatchObject({
    type: 'remote',
    url: `http://127.0.0.1:${proxyPort}/mcp/wiki`,
    enabled: true,
  });
  expect(server.headers.Authorization).toMatch(/^Bearer gp_local_/);

  const start = await gp(['proxy', 'start', '--background']);
  expect(start.code, start.stderr).toBe(0);

  // OpenCode connects to the server through the proxy and reports it connected.
  const list = await opencode(['mcp', 'list']);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).toMatch(/wiki \S*connected/);
  expect(mcp.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['initialize', 'tools/list']));

  // A run offers the server's tool to the model (OpenCode names it <server>_<tool>).
  const r = await opencode(['run', '-m', `gatepass/${MODEL}`, 'hi']);
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const turns = fake.requests.filter((q) => q.method === 'POST' && q.path === '/v1/chat/completions');
  expect(turns.some((q) => q.body.includes(`"wiki_${MCP_TOOL}"`))).toBe(true);
  // Every MCP request carried a token the server verified against the IdP's keys.
  expect(mcp.calls.filter((c) => c.method === 'tools/list').length).toBeGreaterThan(1);
  for (const c of mcp.calls) expect(c.ok, c.method).toBe(true);
  expect(hook.logins()).toBe(1);

  const rm = await gp(['mcp', 'remove', 'wiki']);
  expect(rm.code, rm.stderr).toBe(0);
  expect(readFileSync(configFile, 'utf8')).toBe(wiredModel);
  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(readFileSync(configFile, 'utf8')).toBe(original);
}, 360_000); // two OpenCode runs on a loaded machine
