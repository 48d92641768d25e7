/**
 * Which file edits wire one MCP server into each tool:
 * - Claude Code (its user-scope MCP config, `~/.claude.json`, or `$CLAUDE_CONFIG_DIR/.claude.json`):
 *   `mcpServers.<NAME>` = `{ type: "http", url, headersHelper }`, the helper being the launcher
 *   running `gatepass --config … --provider … headers --for NAME` (Claude Code runs it through the
 *   shell at every connect and expects a JSON object of string headers on stdout).
 * - Gemini CLI (`~/.gemini/settings.json`, no per-server header helper): `mcpServers.<NAME>` =
 *   `{ httpUrl: <proxy>/mcp/NAME, headers: { Authorization: "Bearer <local proxy key>" } }`; the
 *   proxy checks the local key, injects the provider's token and forwards to the server.
 * - Codex CLI, OpenCode, VS Code (and Insiders), Cursor: an entry pointing at the same proxy route
 *   with the local key (tools/mcp-config.ts, which also knows each tool's MCP config file).
 */
import type { FilePlan } from '../tools/edit/file.js';
import { mcpConfigFile, proxiedMcpFilePlan } from '../tools/mcp-config.js';
import { selfCommandLine } from '../tools/self.js';
import type { SelfCommand, ToolEnv } from '../tools/types.js';
import type { McpToolId } from './entries.js';

export interface McpWireParams {
  name: string;
  url: string;
  /** The launcher with `--config … --provider …`. */
  self: SelfCommand;
  /** http://127.0.0.1:<port> of `gatepass proxy`. */
  proxyUrl: string;
  /** The local proxy key (proxy-routed tools only). */
  proxyKey: string;
}

/** Claude Code's user-scope MCP config. */
export function claudeMcpConfig(env: ToolEnv): string {
  return mcpConfigFile('claude', env);
}

export function geminiSettings(env: ToolEnv): string {
  return mcpConfigFile('gemini', env);
}

/** The headersHelper command line Claude Code runs for the server. */
export function headersHelperLine(
  p: Pick<McpWireParams, 'self' | 'name'>,
  platform: NodeJS.Platform,
): string {
  return selfCommandLine(p.self, ['headers', '--for', p.name], platform);
}

export function mcpProxyUrl(proxyUrl: string, name: string): string {
  return `${proxyUrl}/mcp/${encodeURIComponent(name)}`;
}

export function mcpFilePlan(tool: McpToolId, env: ToolEnv, p: McpWireParams): FilePlan {
  if (tool === 'claude') {
    return {
      file: claudeMcpConfig(env),
      format: 'json',
      settings: [
        {
          path: ['mcpServers', p.name],
          value: { type: 'http', url: p.url, headersHelper: headersHelperLine(p, env.platform) },
        },
      ],
    };
  }
  if (tool !== 'gemini')
    return proxiedMcpFilePlan(tool, env, p.name, mcpProxyUrl(p.proxyUrl, p.name), p.proxyKey);
  return {
    file: geminiSettings(env),
    format: 'json',
    settings: [
      { path: ['mcpServers', p.name, 'httpUrl'], value: mcpProxyUrl(p.proxyUrl, p.name) },
      {
        path: ['mcpServers', p.name, 'headers', 'Authorization'],
        value: `Bearer ${p.proxyKey}`,
        secret: true,
      },
    ],
  };
}

/** Does the tool route through the proxy (needs `gatepass proxy` running and the local key)? */
export function viaProxy(tool: McpToolId): boolean {
  return tool !== 'claude';
}
