/**
 * The MCP entries `gatepass mcp add` writes for the proxy-routed tools (Codex CLI, OpenCode, VS Code,
 * VS Code Insiders, Cursor), through the real planning/writing/reverting code on real files: the
 * entry lands where each tool reads it, with the local key; every other byte (comments, CRLF, BOM,
 * other servers) stays; a re-run changes nothing; reverting gives back the original bytes, also
 * over a same-named server of the user's (backed up, put back) and for a file gatepass created;
 * a malformed file is refused and left untouched.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type McpWireParams, mcpFilePlan } from '../../src/mcp/plan.js';
import { planFile, revertFile, writePlanned } from '../../src/tools/edit/file.js';
import type { ProxiedMcpToolId } from '../../src/tools/mcp-config.js';

const KEY = 'gp_local_TESTKEY0123456789abcdefghijklmnop';
const ROUTE = 'http://127.0.0.1:14000/mcp/wiki';
let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'gatepass-mcp-edit-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const env = () => ({ home, platform: 'linux' as const, env: {} });
const params = (): McpWireParams => ({
  name: 'wiki',
  url: 'https://mcp.example.test/mcp',
  self: { command: '/bin/gatepass', args: [] },
  proxyUrl: 'http://127.0.0.1:14000',
  proxyKey: KEY,
});

interface Case {
  tool: ProxiedMcpToolId;
  file: string;
  /** The user's file: comments, CRLF or BOM, another server. */
  original: string;
  /** The same with a server of the user's named wiki. */
  clash: string;
  malformed: string;
  /** The server entry as the tool reads it, from the written text. */
  entry(text: string): unknown;
  /** The user's other server, from the written text. */
  other(text: string): unknown;
  expected: unknown;
}

const json = (text: string) =>
  parseJsonc(text.replace(/^\uFEFF/, '')) as Record<string, Record<string, unknown>>;
const toml = (text: string) => TOML.parse(text) as Record<string, Record<string, unknown>>;
const bearer = { Authorization: `Bearer ${KEY}` };

const CASES: Case[] = [
  {
    tool: 'codex',
    file: '.codex/config.toml',
    original:
      '# my Codex settings\r\nmodel = "o3" # keep me\r\n\r\n[mcp_servers.docs]\r\ncommand = "docs-mcp"\r\nargs = ["--x"]\r\n',
    clash: '[mcp_servers.wiki]\ncommand = "my-wiki" # mine\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n',
    malformed: '[mcp_servers.docs\ncommand = "x"\n',
    entry: (t) => toml(t)['mcp_servers']!['wiki'],
    other: (t) => toml(t)['mcp_servers']!['docs'],
    expected: { url: ROUTE, http_headers: bearer },
  },
  {
    tool: 'opencode',
    file: '.config/opencode/opencode.json',
    original:
      '\uFEFF{\n  // my OpenCode\n  "$schema": "https://opencode.ai/config.json",\n  "mcp": {\n    "docs": { "type": "local", "command": ["docs-mcp"], "enabled": true },\n  },\n}\n',
    clash: '{\n  "mcp": {\n    "wiki": { "type": "local", "command": ["my-wiki"] }\n  }\n}\n',
    malformed: '{ "mcp": { "docs": ',
    entry: (t) => json(t)['mcp']!['wiki'],
    other: (t) => json(t)['mcp']!['docs'],
    expected: { type: 'remote', url: ROUTE, enabled: true, headers: bearer },
  },
  {
    tool: 'vscode',
    file: '.config/Code/User/mcp.json',
    original:
      '{\r\n\t// user MCP servers\r\n\t"servers": {\r\n\t\t"docs": { "type": "stdio", "command": "docs-mcp" }\r\n\t},\r\n\t"inputs": []\r\n}\r\n',
    clash: '{\n  "servers": {\n    "wiki": { "type": "stdio", "command": "my-wiki" }\n  }\n}\n',
    malformed: '{ "servers": [ }',
    entry: (t) => json(t)['servers']!['wiki'],
    other: (t) => json(t)['servers']!['docs'],
    expected: { type: 'http', url: ROUTE, headers: { 'x-api-key': KEY } },
  },
  {
    tool: 'vscode-insiders',
    file: '.config/Code - Insiders/User/mcp.json',
    original: '{\n  "servers": {\n    "docs": { "type": "stdio", "command": "docs-mcp" }\n  }\n}\n',
    clash: '{ "servers": { "wiki": { "url": "https://mine.example.test" } } }',
    malformed: '{,}',
    entry: (t) => json(t)['servers']!['wiki'],
    other: (t) => json(t)['servers']!['docs'],
    expected: { type: 'http', url: ROUTE, headers: { 'x-api-key': KEY } },
  },
  {
    tool: 'cursor',
    file: '.cursor/mcp.json',
    original:
      '\uFEFF{\r\n  "mcpServers": {\r\n    // mine\r\n    "docs": { "command": "npx", "args": ["-y", "docs-mcp"] }\r\n  }\r\n}',
    clash: '{\n  "mcpServers": {\n    "wiki": { "url": "https://mine.example.test/mcp" }\n  }\n}\n',
    malformed: '{ "mcpServers": { "docs": { "url": } } }',
    entry: (t) => json(t)['mcpServers']!['wiki'],
    other: (t) => json(t)['mcpServers']!['docs'],
    expected: { url: ROUTE, headers: bearer },
  },
];

function put(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe.each(CASES)('mcp add into $tool', (c) => {
  const target = () => path.join(home, c.file);

  it('writes the proxy route with the local key, keeps every other byte, and reverts to the original', async () => {
    const plan = mcpFilePlan(c.tool, env(), params());
    expect(plan.file).toBe(target());
    put(target(), c.original);
    const planned = await planFile(plan);
    await writePlanned(planned);
    const written = readFileSync(target(), 'utf8');
    expect(c.entry(written)).toEqual(c.expected);
    expect(c.other(written)).toEqual(c.other(c.original));
    // The key is a secret: recorded by hash only, and the file is private.
    expect(JSON.stringify(planned.record)).not.toContain(KEY);
    expect(statSync(target()).mode & 0o077).toBe(0);
    // A re-run changes nothing.
    const again = await planFile(plan, planned.record);
    expect(again.after).toBe(written);
    const r = await revertFile(planned.record, planned.backups);
    expect(r.outcome).toBe('restored');
    expect(readFileSync(target(), 'utf8')).toBe(c.original);
  });

  it("replaces a same-named server of the user's and puts it back", async () => {
    put(target(), c.clash);
    const planned = await planFile(mcpFilePlan(c.tool, env(), params()));
    await writePlanned(planned);
    expect(c.entry(readFileSync(target(), 'utf8'))).toEqual(c.expected);
    expect(Object.values(planned.backups).join('')).not.toContain(KEY);
    await revertFile(planned.record, planned.backups);
    const back = readFileSync(target(), 'utf8');
    // TOML keeps a replaced secret table's previous value, not its source text: values come back
    // (a comment inside the user's own table of the same name is lost); JSON gets its bytes back.
    if (c.tool === 'codex') expect(toml(back)).toEqual(toml(c.clash));
    else expect(back).toBe(c.clash);
  });

  it('creates a missing file (and its directories) and removes them again', async () => {
    const planned = await planFile(mcpFilePlan(c.tool, env(), params()));
    await writePlanned(planned);
    expect(c.entry(readFileSync(target(), 'utf8'))).toEqual(c.expected);
    expect(statSync(target()).mode & 0o777).toBe(0o600);
    const r = await revertFile(planned.record, planned.backups);
    expect(r.outcome).toBe('removed');
    expect(() => statSync(path.join(home, c.file.split('/')[0]!))).toThrow();
  });

  it('refuses a malformed file and leaves it untouched', async () => {
    put(target(), c.malformed);
    await expect(planFile(mcpFilePlan(c.tool, env(), params()))).rejects.toThrow(/not valid|malformed/i);
    expect(readFileSync(target(), 'utf8')).toBe(c.malformed);
  });
});
