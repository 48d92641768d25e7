/**
 * Where each tool keeps its user-level MCP servers, and the entry gatepass writes there for a server
 * reached through `gatepass proxy` at `/mcp/NAME` (tools without a per-server header helper). The
 * entry carries the local proxy key the way the proxy's guard accepts it, so it is a secret setting:
 * the whole entry is recorded by hash, a same-named entry of the user's is backed up privately and
 * put back by `mcp remove`/teardown, and a file that holds it is made 0600.
 *
 * - Codex CLI: `$CODEX_HOME/config.toml` (default `~/.codex`), `[mcp_servers.NAME]` with `url`
 *   (streamable HTTP) and `http_headers = { Authorization = "Bearer <key>" }` (codex-rs config:
 *   `url`, `bearer_token_env_var`, `http_headers`, `env_http_headers`; `codex mcp get NAME --json`
 *   shows the transport as `streamable_http`).
 * - OpenCode: its global `opencode.json` (the file its LLM wiring uses), `mcp.NAME` = `{ type:
 *   "remote", url, enabled: true, headers }` (opencode.ai/docs/mcp-servers, V1 shape, which V2 still
 *   reads; 1.15 required `enabled`).
 * - VS Code / Insiders: the user profile's `mcp.json` beside settings.json (`Code/User`, `Code -
 *   Insiders/User`), `servers.NAME` = `{ type: "http", url, headers }`; the key goes in
 *   `x-api-key`, like its language-model wiring, so an Authorization header VS Code sets itself
 *   (its MCP OAuth) cannot hide it.
 * - Cursor: `~/.cursor/mcp.json`, `mcpServers.NAME` = `{ url, headers }` (Cursor's MCP client runs in
 *   the editor on this machine, so a loopback URL is reachable, unlike its custom model base URL).
 */
import { codex } from './codex.js';
import type { FilePlan } from './edit/file.js';
import type { KeySetting } from './edit/types.js';
import { opencode } from './opencode.js';
import { appConfigDir, pathJoin } from './platform.js';
import type { ToolEnv } from './types.js';

/** Tools `gatepass mcp add` can wire: Claude Code with its headersHelper, the others through the proxy. */
export const MCP_TOOL_IDS = [
  'claude',
  'gemini',
  'codex',
  'opencode',
  'vscode',
  'vscode-insiders',
  'cursor',
] as const;
export type McpToolId = (typeof MCP_TOOL_IDS)[number];

/** Tools wired through the proxy by an entry of this module (Gemini CLI's is in mcp/plan.ts). */
export type ProxiedMcpToolId = Exclude<McpToolId, 'claude' | 'gemini'>;

export function isMcpToolId(id: string): id is McpToolId {
  return (MCP_TOOL_IDS as readonly string[]).includes(id);
}

/** The file holding the tool's user-level MCP servers. */
export function mcpConfigFile(tool: McpToolId, env: ToolEnv): string {
  switch (tool) {
    case 'claude': {
      const dir = env.env['CLAUDE_CONFIG_DIR'];
      return dir ? pathJoin(env, dir, '.claude.json') : pathJoin(env, env.home, '.claude.json');
    }
    case 'gemini':
      return pathJoin(env, env.env['GEMINI_CLI_HOME'] || env.home, '.gemini', 'settings.json');
    case 'codex':
      return codex.configPath(env);
    case 'opencode':
      return opencode.configPath(env);
    case 'vscode':
      return pathJoin(env, appConfigDir(env), 'Code', 'User', 'mcp.json');
    case 'vscode-insiders':
      return pathJoin(env, appConfigDir(env), 'Code - Insiders', 'User', 'mcp.json');
    case 'cursor':
      return pathJoin(env, env.home, '.cursor', 'mcp.json');
  }
}

/** The one setting that wires server `name`, reached at `url` (the proxy's /mcp/NAME) with `key`. */
function proxiedSetting(tool: ProxiedMcpToolId, name: string, url: string, key: string): KeySetting {
  const bearer = { Authorization: `Bearer ${key}` };
  switch (tool) {
    case 'codex':
      return { path: ['mcp_servers', name], value: { url, http_headers: bearer }, secret: true };
    case 'opencode':
      return {
        path: ['mcp', name],
        value: { type: 'remote', url, enabled: true, headers: bearer },
        secret: true,
      };
    case 'vscode':
    case 'vscode-insiders':
      return {
        path: ['servers', name],
        value: { type: 'http', url, headers: { 'x-api-key': key } },
        secret: true,
      };
    case 'cursor':
      return { path: ['mcpServers', name], value: { url, headers: bearer }, secret: true };
  }
}

export function proxiedMcpFilePlan(
  tool: ProxiedMcpToolId,
  env: ToolEnv,
  name: string,
  url: string,
  key: string,
): FilePlan {
  return {
    file: mcpConfigFile(tool, env),
    format: tool === 'codex' ? 'toml' : 'json',
    settings: [proxiedSetting(tool, name, url, key)],
  };
}
