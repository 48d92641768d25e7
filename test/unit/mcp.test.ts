/** Pure parts of the MCP and telemetry wiring: names, tool lists, file plans, header sanitizing. */
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/config/schema.js';
import { checkMcpName, checkMcpUrl, parseMcpTools } from '../../src/mcp/entries.js';
import { headerSafe, otelIdentityHeaders } from '../../src/mcp/otel.js';
import { claudeMcpConfig, mcpFilePlan } from '../../src/mcp/plan.js';
import { exchangesTokens } from '../../src/mcp/token.js';

const env = { home: '/home/u', platform: 'linux' as const, env: {} };
const params = {
  name: 'wiki',
  url: 'https://mcp.example.test/mcp',
  self: { command: '/home/u/my data/gatepass', args: ['--config', '/c.yaml', '--provider', 'p'] },
  proxyUrl: 'http://127.0.0.1:14000',
  proxyKey: 'gp_local_x',
};

describe('MCP wiring', () => {
  it('plans Claude Code with a quoted headersHelper, and Gemini CLI through the proxy with the key as a secret', () => {
    const claude = mcpFilePlan('claude', env, params);
    expect(claude.file).toBe('/home/u/.claude.json');
    expect(claude.settings).toEqual([
      {
        path: ['mcpServers', 'wiki'],
        value: {
          type: 'http',
          url: 'https://mcp.example.test/mcp',
          headersHelper: "'/home/u/my data/gatepass' --config /c.yaml --provider p headers --for wiki",
        },
      },
    ]);
    const gemini = mcpFilePlan('gemini', env, params);
    expect(gemini.file).toBe('/home/u/.gemini/settings.json');
    expect(gemini.settings).toEqual([
      { path: ['mcpServers', 'wiki', 'httpUrl'], value: 'http://127.0.0.1:14000/mcp/wiki' },
      { path: ['mcpServers', 'wiki', 'headers', 'Authorization'], value: 'Bearer gp_local_x', secret: true },
    ]);
    expect(claudeMcpConfig({ ...env, env: { CLAUDE_CONFIG_DIR: '/cfg' } })).toBe('/cfg/.claude.json');
  });

  it('refuses bad names, URLs and tools as usage errors', () => {
    for (const bad of ['', 'a b', '-x', 'a/b', 'x'.repeat(65), 'ü'])
      expect(() => checkMcpName(bad)).toThrow(/name/);
    expect(() => checkMcpName('wiki_2-b')).not.toThrow();
    expect(() => checkMcpUrl('http://mcp.example.test')).toThrow(/https/);
    expect(checkMcpUrl('http://127.0.0.1:9/mcp')).toBe('http://127.0.0.1:9/mcp');
    expect(parseMcpTools('claude-code, gemini,claude')).toEqual(['claude', 'gemini']);
    expect(parseMcpTools(undefined)).toEqual([
      'claude',
      'gemini',
      'codex',
      'opencode',
      'vscode',
      'vscode-insiders',
      'cursor',
    ]);
    expect(parseMcpTools('cursor,codex')).toEqual(['cursor', 'codex']);
    expect(() => parseMcpTools('xcode')).toThrow(/xcode/);
    expect(() => parseMcpTools(' , ')).toThrow(/at least one/);
  });

  it('token exchange only for OIDC providers that ask for it', () => {
    const oidc = { type: 'oidc', oidc: {}, mcp: { token_exchange: true } } as Provider;
    expect(exchangesTokens(oidc)).toBe(true);
    expect(exchangesTokens({ ...oidc, mcp: { token_exchange: false } } as Provider)).toBe(false);
    expect(exchangesTokens({ type: 'command', auth: {}, mcp: { token_exchange: true } } as Provider)).toBe(
      false,
    );
  });
});

describe('OTel identity headers', () => {
  it('drops control characters, percent-encodes non-ASCII, caps the length', () => {
    expect(headerSafe('a\r\nb\u0000c')).toBe('abc');
    expect(headerSafe('zoë')).toBe('zo%C3%AB');
    expect(headerSafe('x'.repeat(300))).toHaveLength(256);
    const p = {
      type: 'oidc',
      oidc: {},
      token_ref: { secret_key: 'k', identity: { sub: 's-1', email: 'e@x.test', name: 'N' } },
    } as Provider;
    expect(otelIdentityHeaders(p)).toEqual({ 'x-user-id': 's-1', 'x-user-email': 'e@x.test' });
    expect(otelIdentityHeaders({ type: 'command', auth: {} } as Provider)).toEqual({});
  });
});
