/**
 * `gatepass mcp add|remove|list` and `gatepass headers` with the built CLI in a temp HOME: the
 * edits to Claude Code's MCP config and Gemini CLI's settings keep every other byte, re-runs change
 * nothing, remove and teardown give the files back byte for byte, the helper carries --config and
 * --provider, malformed files are refused untouched, and the headers helper prints only JSON. The
 * proxy's /mcp/NAME route is driven with the official MCP SDK client against the SDK's server.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { addKilledAtEveryStep, writeTwoProviderConfig } from '../helpers/mcp-cli.js';
import { MCP_TOOL, MCP_TOOL_REPLY, startMcpServer } from '../helpers/mcp-server.js';
import { freePort } from '../helpers/ports.js';

const TOKEN = 'gp-mcp-test-token-0123456789';
const KEY = generateLocalProxyKey();
let t: TempHome;
let altConfig: string;
const CLAUDE_JSON =
  '{\n  "numStartups": 7,\n  "mcpServers": {\n    "mine": { "type": "stdio", "command": "x" }\n  }\n}\n';
const GEMINI = '{\n  // my settings\n  "theme": "Dracula",\n}\n';

beforeEach(async () => {
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
    GP_TEST_TOKEN: TOKEN,
  });
  altConfig = writeTwoProviderConfig(path.join(t.home, 'alt/gatepass.yaml'), await freePort());
  writeFileSync(path.join(t.home, '.claude.json'), CLAUDE_JSON);
  mkdirSync(path.join(t.home, '.gemini'));
  writeFileSync(path.join(t.home, '.gemini/settings.json'), GEMINI);
});
afterEach(async () => {
  await runGatepass(['--config', altConfig, 'proxy', 'stop'], { env: t.env });
  t.cleanup();
});

const gp = (args: string[]) =>
  runGatepass(['--config', altConfig, '--provider', 'work', ...args], { env: t.env });
const read = (f: string) => readFileSync(path.join(t.home, f), 'utf8');
/** The tools these tests wire (the default depends on what is installed: node_modules/.bin has more). */
const BOTH = ['--tools', 'claude-code,gemini'];

describe('gatepass mcp add / list / remove', () => {
  it('wires both tools keeping every other byte, is idempotent, and remove gives the files back', async () => {
    const add = await gp(['mcp', 'add', 'wiki', 'https://mcp.example.test/wiki/mcp', ...BOTH]);
    expect(add.code, add.stderr).toBe(0);
    const claude = JSON.parse(read('.claude.json'));
    expect(claude.numStartups).toBe(7);
    expect(claude.mcpServers.mine).toEqual({ type: 'stdio', command: 'x' });
    const launcher = path.join(t.home, '.local/share/gatepass/bin/gatepass');
    expect(claude.mcpServers.wiki).toEqual({
      type: 'http',
      url: 'https://mcp.example.test/wiki/mcp',
      headersHelper: `${launcher} --config ${altConfig} --provider work headers --for wiki`,
    });
    const gemini = read('.gemini/settings.json');
    expect(gemini.startsWith('{\n  // my settings\n  "theme": "Dracula",')).toBe(true);
    expect(gemini).toContain('"httpUrl": "http://127.0.0.1:');
    expect(gemini).toContain(`"Authorization": "Bearer ${KEY}"`);
    expect(add.stderr).not.toContain(KEY);

    const snapshot = [read('.claude.json'), read('.gemini/settings.json'), readFileSync(altConfig, 'utf8')];
    const again = await gp(['mcp', 'add', 'wiki', 'https://mcp.example.test/wiki/mcp', ...BOTH]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('Already wired');
    expect([read('.claude.json'), read('.gemini/settings.json'), readFileSync(altConfig, 'utf8')]).toEqual(
      snapshot,
    );

    const list = await gp(['mcp', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      {
        name: 'wiki',
        url: 'https://mcp.example.test/wiki/mcp',
        provider: 'work',
        tools: ['claude', 'gemini'],
        files: [path.join(t.home, '.claude.json'), path.join(t.home, '.gemini/settings.json')],
        wired: [
          {
            tool: 'claude',
            file: path.join(t.home, '.claude.json'),
            via: 'headersHelper',
            url: 'https://mcp.example.test/wiki/mcp',
          },
          {
            tool: 'gemini',
            file: path.join(t.home, '.gemini/settings.json'),
            via: 'proxy',
            url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/mcp\/wiki$/),
          },
        ],
      },
    ]);
    expect(readFileSync(altConfig, 'utf8')).not.toContain(KEY);

    const headers = await gp(['headers', '--for', 'wiki']);
    expect(headers.code, headers.stderr).toBe(0);
    expect(headers.stdout).toBe(`{"Authorization":"Bearer ${TOKEN}"}\n`);

    // Re-adding for Claude Code only unwires Gemini CLI.
    const narrow = await gp([
      'mcp',
      'add',
      'wiki',
      'https://mcp.example.test/wiki/mcp',
      '--tools',
      'claude-code',
    ]);
    expect(narrow.code, narrow.stderr).toBe(0);
    expect(read('.gemini/settings.json')).toBe(GEMINI);

    const rm = await gp(['mcp', 'remove', 'wiki']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(read('.claude.json')).toBe(CLAUDE_JSON);
    expect(read('.gemini/settings.json')).toBe(GEMINI);
    expect(JSON.parse((await gp(['mcp', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('teardown removes MCP servers too', async () => {
    expect((await gp(['mcp', 'add', 'wiki', 'https://mcp.example.test/mcp', ...BOTH])).code).toBe(0);
    const td = await gp(['teardown']);
    expect(td.code, td.stderr).toBe(0);
    expect(read('.claude.json')).toBe(CLAUDE_JSON);
    expect(read('.gemini/settings.json')).toBe(GEMINI);
  });

  it('refuses a malformed tool file before any write, and bad input with exit 2', async () => {
    writeFileSync(path.join(t.home, '.claude.json'), '{ "numStartups": ');
    const bad = await gp(['mcp', 'add', 'wiki', 'https://mcp.example.test/mcp', ...BOTH]);
    expect(bad.code).toBe(1);
    expect(read('.claude.json')).toBe('{ "numStartups": ');
    expect(read('.gemini/settings.json')).toBe(GEMINI);
    expect(readFileSync(altConfig, 'utf8')).not.toContain('mcp:');

    for (const args of [
      ['mcp', 'add', 'bad name', 'https://x.example.test'],
      ['mcp', 'add', 'wiki', 'http://mcp.example.test/mcp'],
      ['mcp', 'add', 'wiki', 'https://mcp.example.test/mcp', '--tools', 'xcode'],
      ['mcp', 'remove', 'nothere'],
      ['headers', '--for', 'nothere'],
      ['headers'],
    ]) {
      const r = await gp(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('headers --for prints nothing on stdout when there is no token', async () => {
    expect((await gp(['mcp', 'add', 'wiki', 'https://mcp.example.test/mcp', '--tools', 'claude'])).code).toBe(
      0,
    );
    const r = await runGatepass(['--config', altConfig, '--provider', 'work', 'headers', '--for', 'wiki'], {
      env: { ...t.env, GP_TEST_TOKEN: '' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });
});

describe('the proxy /mcp/NAME route', () => {
  it('the MCP SDK client lists and calls tools through the proxy, which injects the token', async () => {
    const mcp = await startMcpServer(async (tok) => tok === TOKEN);
    try {
      expect((await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'gemini'])).code).toBe(0);
      const port = await freePort();
      const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
      expect(start.code, start.stderr).toBe(0);
      const url = new URL(`http://127.0.0.1:${port}/mcp/wiki`);

      const client = new Client({ name: 'gatepass-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(url, {
          requestInit: { headers: { authorization: `Bearer ${KEY}` } },
        }),
      );
      const tools = await client.listTools();
      expect(tools.tools.map((x) => x.name)).toEqual([MCP_TOOL]);
      const called = await client.callTool({ name: MCP_TOOL, arguments: {} });
      expect(called.content).toEqual([{ type: 'text', text: MCP_TOOL_REPLY }]);
      await client.close();
      expect(mcp.calls.map((c) => c.method)).toEqual(
        expect.arrayContaining(['initialize', 'tools/list', 'tools/call']),
      );
      for (const c of mcp.calls) expect(c.authorization).toBe(`Bearer ${TOKEN}`);

      // Without the local key the proxy refuses before anything reaches the MCP server.
      const n = mcp.calls.length;
      const anon = new Client({ name: 'anon', version: '1.0.0' });
      await expect(anon.connect(new StreamableHTTPClientTransport(url))).rejects.toThrow(
        /missing or wrong local proxy key/,
      );
      const unknown = await fetch(`http://127.0.0.1:${port}/mcp/other`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(unknown.status).toBe(404);
      expect(mcp.calls.length).toBe(n);
    } finally {
      await mcp.close();
    }
  });
});

describe('the proxy /mcp/NAME route and a 401', () => {
  it('asks the token source again and retries the request once', async () => {
    let refusals = 1;
    const mcp = await startMcpServer(async (tok) => {
      if (refusals > 0) {
        refusals--;
        return false;
      }
      return tok === TOKEN;
    });
    try {
      expect((await gp(['mcp', 'add', 'wiki', mcp.url, '--tools', 'gemini'])).code).toBe(0);
      const port = await freePort();
      expect((await gp(['proxy', 'start', '--background', '--port', String(port)])).code).toBe(0);
      const res = await fetch(`http://127.0.0.1:${port}/mcp/wiki`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(MCP_TOOL);
      // The same request twice: refused once, then served (its body replayed).
      expect(mcp.calls.map((c) => [c.method, c.ok])).toEqual([
        ['tools/list', false],
        ['tools/list', true],
      ]);
    } finally {
      await mcp.close();
    }
  });
});

describe('gatepass headers --otel', () => {
  it('prints the sanitized identity of the last sign-in as JSON', async () => {
    mkdirSync(path.dirname(t.configFile), { recursive: true });
    writeFileSync(
      t.configFile,
      `version: 1
default_provider: sso
providers:
  sso:
    type: oidc
    gateway_url: https://gw.example.test
    oidc: { issuer: https://idp.example.test, client_id: gp }
    token_ref:
      secret_key: LLM_OAUTH_00000000
      identity: { sub: "user-1\\u0007", email: "zoë@example.test" }
`,
    );
    const r = await runGatepass(['headers', '--otel'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      'x-user-id': 'user-1',
      'x-user-email': 'zo%C3%AB%40example.test',
    });
  });
});

describe('setup --otel-endpoint', () => {
  it('wires Claude Code telemetry with the pinned otelHeadersHelper; a setup without it takes it out', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const settingsFile = path.join(t.home, '.claude/settings.json');
    writeFileSync(settingsFile, '{\n  "theme": "dark"\n}\n');
    const setup = await gp(['setup', '--tools', 'claude', '--otel-endpoint', 'http://127.0.0.1:4318/']);
    expect(setup.code, setup.stderr).toBe(0);
    const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
    const launcher = path.join(t.home, '.local/share/gatepass/bin/gatepass');
    expect(settings.otelHeadersHelper).toBe(
      `${launcher} --config ${altConfig} --provider work headers --otel`,
    );
    expect(settings.env).toMatchObject({
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    });
    expect(readFileSync(altConfig, 'utf8')).toMatch(/otel:\n\s+endpoint: \S*127\.0\.0\.1:4318/);

    expect((await gp(['config', 'unset', 'otel.endpoint'])).code).toBe(0);
    const again = await gp(['setup', '--tools', 'claude']);
    expect(again.code, again.stderr).toBe(0);
    const after = JSON.parse(readFileSync(settingsFile, 'utf8'));
    expect(after.otelHeadersHelper).toBeUndefined();
    expect(Object.keys(after.env).filter((k) => /OTEL|TELEMETRY/.test(k))).toEqual([]);

    expect((await gp(['teardown'])).code).toBe(0);
    expect(readFileSync(settingsFile, 'utf8')).toBe('{\n  "theme": "dark"\n}\n');
  });
});

describe('mcp add killed at every durable step', () => {
  it('the next gatepass run (status) rolls it back, or it committed: then remove gives every byte back', async () => {
    const rolledBack = await addKilledAtEveryStep({
      args: [
        '--config',
        altConfig,
        '--provider',
        'work',
        'mcp',
        'add',
        'wiki',
        'https://mcp.example.test/mcp',
        ...BOTH,
      ],
      env: t.env,
      configFile: altConfig,
      gp,
      key: KEY,
      check: (step) => {
        expect(read('.claude.json'), `step ${step}`).toBe(CLAUDE_JSON);
        expect(read('.gemini/settings.json'), `step ${step}`).toBe(GEMINI);
      },
    });
    expect(rolledBack).toBeGreaterThan(3);
  });
});
