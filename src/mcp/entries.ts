/**
 * MCP servers wired by `gatepass mcp add`: each is one `configured_tools` entry with the tool id
 * `mcp:<NAME>`, holding the server's URL, the provider whose sign-in it uses, the tools it was
 * wired into and — like every wired tool — the records of the file edits (what teardown undoes).
 * Keeping them in configured_tools means `gatepass teardown`, the crash journal and `status` treat
 * them like any other wiring, and the proxy's `/mcp/NAME` route reads the same list.
 */
import type { ConfiguredTool, GatepassConfig } from '../config/schema.js';
import { checkFieldValue, findField } from '../config/validate.js';
import { UsageError } from '../errors.js';
import { MCP_TOOL_IDS, type McpToolId } from '../tools/mcp-config.js';

export const MCP_TOOL_PREFIX = 'mcp:';

/** Tools `mcp add` can wire: Claude Code with its own headersHelper, the others through the proxy. */
export const MCP_TOOLS = MCP_TOOL_IDS;
export type { McpToolId };

export interface McpEntry extends ConfiguredTool {
  /** The remote (streamable-HTTP) MCP server. */
  mcp_url: string;
  /** Tools it was wired into. */
  mcp_tools: McpToolId[];
  /** The file each tool got the server in (entries written before it existed: see mcpToolFiles). */
  mcp_files?: Partial<Record<McpToolId, string>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function checkMcpName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(`invalid MCP server name ${JSON.stringify(name)}`, {
      hint: 'use 1 to 64 letters, digits, - or _ (starting with a letter or digit), e.g. `wiki`',
    });
  }
}

/** The server URL: http(s), http only on loopback (like gateway_url). */
export function checkMcpUrl(url: string): string {
  const reason = checkFieldValue(findField('gateway_url')!, url);
  if (reason) throw new UsageError(`invalid MCP server URL: ${reason}`);
  return new URL(url).href;
}

export function mcpToolId(name: string): string {
  return `${MCP_TOOL_PREFIX}${name}`;
}

export function isMcpEntry(e: ConfiguredTool): e is McpEntry {
  return e.tool.startsWith(MCP_TOOL_PREFIX) && typeof e['mcp_url'] === 'string';
}

export function mcpEntries(config: GatepassConfig): McpEntry[] {
  return config.configured_tools.filter(isMcpEntry);
}

export function mcpNameOf(entry: McpEntry): string {
  return entry.tool.slice(MCP_TOOL_PREFIX.length);
}

export function findMcpEntry(config: GatepassConfig, name: string): McpEntry | undefined {
  return mcpEntries(config).find((e) => mcpNameOf(e) === name);
}

/** `--tools claude-code,gemini` → tool ids (undefined: every tool that can take one). */
export function parseMcpTools(list: string | undefined): McpToolId[] {
  if (list === undefined) return [...MCP_TOOLS];
  const ids = list
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .map((s) => (s === 'claude-code' ? 'claude' : s));
  if (!ids.length) throw new UsageError('--tools needs at least one tool name');
  const out: McpToolId[] = [];
  for (const id of ids) {
    if (!(MCP_TOOLS as readonly string[]).includes(id)) {
      throw new UsageError(`gatepass cannot wire MCP servers into "${id}"`, {
        hint: `tools that can take one: ${MCP_TOOLS.join(', ')} (claude-code is claude)`,
      });
    }
    if (!out.includes(id as McpToolId)) out.push(id as McpToolId);
  }
  return out;
}
