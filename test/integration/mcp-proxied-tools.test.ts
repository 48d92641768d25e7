/**
 * `gatepass mcp add` into Codex CLI, OpenCode, VS Code and Cursor with the built CLI, a named
 * provider and `--config` (its own proxy port): the URL and key written into each tool's file are
 * read back and used by the official MCP SDK client, through the real `gatepass proxy`, to list the
 * tools of the SDK's MCP server, which sees the provider's token. `teardown <tool>` takes out that
 * tool's part of every MCP server — Claude Code's included — byte for byte, and keeps the others.
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { addKilledAtEveryStep, writeTwoProviderConfig } from '../helpers/mcp-cli.js';
import { MCP_TOOL, startMcpServer, type TestMcpServer } from '../helpers/mcp-server.js';
import { freePort } from '../helpers/ports.js';

const TOKEN = 'gp-mcp-proxied-token-0123456789';
const KEY = generateLocalProxyKey();
let t: TempHome;
let altConfig: string;
let port: number;
let mcp: TestMcpServer;

beforeEach(async () => {
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
    GP_TEST_TOKEN: TOKEN,
  });
  for (const k of Object.keys(t.env))
    if (/^(CODEX_HOME|CLAUDE_CONFIG_DIR|GEMINI_CLI_HOME)$/.test(k)) delete t.env[k];
  port = await freePort();
  altConfig = writeTwoProviderConfig(path.join(t.home, 'alt/gatepass.yaml'), port);
  mcp = await startMcpServer(async (tok) => tok === TOKEN);
});
afterEach(async () => {
  await runGatepass(['--config', altConfig, 'proxy', 'stop'], { env: t.env });
  await mcp.close();
  t.cleanup();
});

const gp = (args: string[]) =>
  runGatepass(['--config', altConfig, '--provider', 'work', ...args], { env: t.env, cwd: t.home });
const abs = (f: string) => path.join(t.home, f);
const read = (f: string) => readFileSync(abs(f), 'utf8');
function put(f: string, text: string): void {
  mkdirSync(path.dirname(abs(f)), { recursive: true });
  writeFileSync(abs(f), text);
}

interface Wired {
  url: string;
  headers: Record<string, string>;
}

interface ToolCase {
  tool: string;
  file: string;
  original: string;
  /** The URL and headers the tool would use, read from its file as the tool does. */
  wired(text: string): Wired;
}

const json = (text: string) =>
  parseJsonc(text.replace(/^\uFEFF/, '')) as Record<string, Record<string, Record<string, unknown>>>;

const CASES: ToolCase[] = [
  {
    tool: 'codex',
    file: '.codex/config.toml',
    original: '# mine\r\nmodel = "o3"\r\n\r\n[mcp_servers.docs]\r\ncommand = "docs-mcp"\r\n',
    wired: (text) => {
      const s = (TOML.parse(text) as Record<string, Record<string, Record<string, unknown>>>)['mcp_servers']![
        'wiki'
      ]!;
      return { url: s['url'] as string, headers: s['http_headers'] as Record<string, string> };
    },
  },
  {
    tool: 'opencode',
    file: '.config/opencode/opencode.json',
    original: '\uFEFF{\n  // mine\n  "$schema": "https://opencode.ai/config.json",\n  "theme": "dark",\n}\n',
    wired: (text) => {
      const s = json(text)['mcp']!['wiki']!;
      expect(s).toMatchObject({ type: 'remote', enabled: true });
      return { url: s['url'] as string, headers: s['headers'] as Record<string, string> };
    },
  },
  {
    tool: 'vscode',
    file: '.config/Code/User/mcp.json',
    original:
      '{\r\n\t"servers": {\r\n\t\t"docs": { "type": "stdio", "command": "docs-mcp" }\r\n\t},\r\n\t"inputs": []\r\n}\r\n',
    wired: (text) => {
      const s = json(text)['servers']!['wiki']!;
      expect(s['type']).toBe('http');
      return { url: s['url'] as string, headers: s['headers'] as Record<string, string> };
    },
  },
  {
    tool: 'cursor',
    file: '.cursor/mcp.json',
    original: '{\n  "mcpServers": {\n    // mine\n    "docs": { "command": "docs-mcp" }\n  }\n}\n',
    wired: (text) => {
      const s = json(text)['mcpServers']!['wiki']!;
      return { url: s['url'] as string, headers: s['headers'] as Record<string, string> };
    },
  },
];

/** The official SDK client lists the tools at `w.url` with the headers the tool would send. */
async function listThrough(w: Wired): Promise<string[]> {
  const client = new Client({ name: 'gatepass-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(w.url), { requestInit: { headers: w.headers } }),
  );
  try {
    return (await client.listTools()).tools.map((x) => x.name);
  } finally {
    await client.close();
  }
}

describe.each(CASES)('mcp add --tools $tool', (c) => {
  it('writes the proxy route of --config and the key; the MCP SDK client lists tools through the real proxy; teardown <tool> restores the file', async () => {
    put(c.file, c.original);
    const add = await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', c.tool]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).not.toContain(KEY);
    const wired = c.wired(read(c.file));
    expect(wired.url).toBe(`http://127.0.0.1:${port}/mcp/wiki`);
    expect(Object.values(wired.headers).join(' ')).toContain(KEY);
    expect(readFileSync(altConfig, 'utf8')).not.toContain(KEY);

    // The proxy of this config (its listen_port) for provider "work".
    const start = await gp(['proxy', 'start', '--background']);
    expect(start.code, start.stderr).toBe(0);
    expect(await listThrough(wired)).toEqual([MCP_TOOL]);
    expect(mcp.calls.map((x) => x.method)).toEqual(expect.arrayContaining(['initialize', 'tools/list']));
    for (const x of mcp.calls) expect(x.authorization).toBe(`Bearer ${TOKEN}`);

    const list = JSON.parse((await gp(['mcp', 'list', '--json'])).stdout);
    expect(list[0].wired).toEqual([{ tool: c.tool, file: abs(c.file), via: 'proxy', url: wired.url }]);

    const td = await gp(['teardown', c.tool]);
    expect(td.code, td.stderr).toBe(0);
    expect(read(c.file)).toBe(c.original);
    expect(JSON.parse((await gp(['mcp', 'list', '--json'])).stdout)).toEqual([]);
  });
});

describe('teardown of one tool', () => {
  it("takes out only that tool's MCP wiring (Claude Code's too) and keeps the server for the others", async () => {
    const claude = '{\n  "numStartups": 3\n}\n';
    put('.claude.json', claude);
    for (const c of CASES) put(c.file, c.original);
    const add = await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'claude-code,codex,cursor']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(read('.claude.json')).mcpServers.wiki.url).toBe(mcp.url);

    const before = ['.claude.json', '.codex/config.toml', '.cursor/mcp.json'].map(read);
    const dry = await gp(['teardown', '--dry-run', 'claude']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`--- ${abs('.claude.json')}`);
    expect(dry.stdout).not.toContain('config.toml');
    expect(dry.stderr).toContain('Teardown would unconfigure MCP server "wiki" (Claude Code)');
    expect(['.claude.json', '.codex/config.toml', '.cursor/mcp.json'].map(read)).toEqual(before);

    const td = await gp(['teardown', 'claude']);
    expect(td.code, td.stderr).toBe(0);
    expect(read('.claude.json')).toBe(claude);
    const [item] = JSON.parse((await gp(['mcp', 'list', '--json'])).stdout);
    expect(item.tools).toEqual(['codex', 'cursor']);
    expect(item.files).toEqual([abs('.codex/config.toml'), abs('.cursor/mcp.json')]);
    expect(CASES[0]!.wired(read('.codex/config.toml')).url).toBe(`http://127.0.0.1:${port}/mcp/wiki`);

    // Removing what is left gives every file back.
    const rm = await gp(['mcp', 'remove', 'wiki']);
    expect(rm.code, rm.stderr).toBe(0);
    for (const c of CASES) expect(read(c.file), c.tool).toBe(c.original);
    expect(read('.claude.json')).toBe(claude);
  });

  it('without --tools, mcp add wires the tools setup wired', async () => {
    put('.cursor/mcp.json', CASES[3]!.original);
    mkdirSync(abs('.config/opencode'), { recursive: true });
    const setup = await gp(['setup', '--tools', 'opencode']);
    expect(setup.code, setup.stderr).toBe(0);
    const add = await gp(['mcp', 'add', 'wiki', mcp.url]);
    expect(add.code, add.stderr).toBe(0);
    const [item] = JSON.parse((await gp(['mcp', 'list', '--json'])).stdout);
    expect(item.tools).toEqual(['opencode']);
    expect(read('.cursor/mcp.json')).toBe(CASES[3]!.original);
    expect(CASES[1]!.wired(read('.config/opencode/opencode.json')).url).toBe(
      `http://127.0.0.1:${port}/mcp/wiki`,
    );
    const td = await gp(['teardown']);
    expect(td.code, td.stderr).toBe(0);
    expect(() => read('.config/opencode/opencode.json')).toThrow();
  });

  it("mcp remove keeps a file private while the tool's own wiring still holds the key there", async () => {
    const oc = CASES[1]!;
    put(oc.file, oc.original);
    chmodSync(abs(oc.file), 0o644);
    expect((await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'opencode'])).code).toBe(0);
    expect(statSync(abs(oc.file)).mode & 0o777).toBe(0o600);
    const setup = await gp(['setup', '--tools', 'opencode']);
    expect(setup.code, setup.stderr).toBe(0);
    const rm = await gp(['mcp', 'remove', 'wiki']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(read(oc.file)).toContain(KEY);
    expect(statSync(abs(oc.file)).mode & 0o777).toBe(0o600);
    const td = await gp(['teardown']);
    expect(td.code, td.stderr).toBe(0);
    expect(read(oc.file)).toBe(oc.original);
    expect(statSync(abs(oc.file)).mode & 0o777).toBe(0o644);
  });

  it('status names the MCP server and, once a tool file drifts, the mcp add and mcp remove that fix it', async () => {
    for (const c of CASES) put(c.file, c.original);
    expect((await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'codex,cursor'])).code).toBe(0);
    const cursor = read('.cursor/mcp.json');
    writeFileSync(abs('.cursor/mcp.json'), cursor.replace(`127.0.0.1:${port}`, '127.0.0.1:1'));
    const st = await gp(['status', '--json']);
    expect(st.stdout).not.toContain(KEY);
    const tool = JSON.parse(st.stdout).tools.find((x: { tool: string }) => x.tool === 'mcp:wiki');
    expect(tool).toMatchObject({ name: 'MCP server "wiki" (Codex CLI, Cursor)', state: 'drifted' });
    expect(tool.fix).toContain(`mcp add wiki ${mcp.url} --tools codex,cursor`);
    expect(tool.fix).toContain(`--config ${altConfig} --provider work mcp remove wiki`);
  });
});

describe('mcp add into Codex CLI and VS Code killed at every durable step', () => {
  it('the next gatepass run rolls it back, or it committed: then remove gives every byte back', async () => {
    const [codex, vscode] = [CASES[0]!, CASES[2]!];
    put(codex.file, codex.original);
    put(vscode.file, vscode.original);
    const rolledBack = await addKilledAtEveryStep({
      args: [
        '--config',
        altConfig,
        '--provider',
        'work',
        'mcp',
        'add',
        'wiki',
        mcp.url,
        '--tools',
        'codex,vscode',
      ],
      env: t.env,
      cwd: t.home,
      configFile: altConfig,
      gp,
      key: KEY,
      check: (step) => {
        expect(read(codex.file), `step ${step}`).toBe(codex.original);
        expect(read(vscode.file), `step ${step}`).toBe(vscode.original);
      },
    });
    expect(rolledBack).toBeGreaterThan(3);
  });
});
