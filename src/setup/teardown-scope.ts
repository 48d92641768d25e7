/**
 * Which configured_tools entries a teardown undoes, MCP servers included. `gatepass mcp add` keeps
 * each server as one entry (`mcp:NAME`) covering several tools, one file record per tool: a full
 * teardown undoes the entry, `gatepass teardown codex` undoes only Codex's part of each entry (a
 * "slice": the records of Codex's file) and keeps the entry, narrowed, for the other tools. An entry
 * all of whose tools are torn down is undone whole.
 */
import type { ConfiguredTool, GatepassConfig } from '../config/schema.js';
import type { FileChange } from '../tools/edit/types.js';
import { findTool } from '../tools/index.js';
import { isMcpToolId, type McpToolId, mcpConfigFile } from '../tools/mcp-config.js';
import type { ToolModule } from '../tools/types.js';
import { fileRecords, parseToolList, type RunEnv, toolEnv } from './common.js';

const MCP_PREFIX = 'mcp:';

export function isMcpServerEntry(e: ConfiguredTool): boolean {
  return e.tool.startsWith(MCP_PREFIX) && typeof e['mcp_url'] === 'string';
}

/** How teardown names an entry: the tool's name, or `MCP server "NAME" (tools)`. */
export function entryLabel(e: ConfiguredTool): string {
  if (!isMcpServerEntry(e)) return findTool(e.tool)?.name ?? e.tool;
  const names = mcpEntryTools(e).map((t) => findTool(t)?.name ?? t);
  return `MCP server "${e.tool.slice(MCP_PREFIX.length)}"${names.length ? ` (${names.join(', ')})` : ''}`;
}

export function mcpEntryTools(e: ConfiguredTool): McpToolId[] {
  const tools = e['mcp_tools'];
  return Array.isArray(tools)
    ? tools.filter((t): t is McpToolId => typeof t === 'string' && isMcpToolId(t))
    : [];
}

/** The file each tool of an MCP entry got the server in (older entries: the tool's usual file). */
export function mcpToolFiles(e: ConfiguredTool, run: RunEnv): Partial<Record<McpToolId, string>> {
  const recorded = (e['mcp_files'] ?? {}) as Record<string, unknown>;
  const out: Partial<Record<McpToolId, string>> = {};
  for (const t of mcpEntryTools(e)) {
    const file = recorded[t];
    out[t] = typeof file === 'string' ? file : mcpConfigFile(t, toolEnv(run));
  }
  return out;
}

/** Part of an MCP entry a per-tool teardown undoes. */
export interface McpSlice {
  /** The entry with `files` narrowed to the torn-down tools' records (what is reverted). */
  part: ConfiguredTool;
  tools: McpToolId[];
}

/** The entries a teardown undoes whole, and slices of the MCP entries it undoes in part. */
export interface TeardownScope {
  entries: ConfiguredTool[];
  slices: McpSlice[];
  /**
   * What to revert, newest entry first (entries and slice parts in reverse configured_tools order):
   * when two entries edited one file (a tool's wiring and an MCP server), the one that created it
   * is undone last and can remove it.
   */
  revert: ConfiguredTool[];
  requested: ToolModule[] | undefined;
  /** Every entry goes (tokens go too). */
  full: boolean;
}

export function selectTeardown(
  run: RunEnv,
  config: GatepassConfig,
  tools: string[] | undefined,
): TeardownScope {
  const requested = parseToolList(tools);
  if (!requested) {
    const entries = [...config.configured_tools];
    return { entries, slices: [], revert: [...entries].reverse(), requested, full: true };
  }
  const ids = requested.map((t) => t.id);
  const entries: ConfiguredTool[] = [];
  const slices: McpSlice[] = [];
  const revert: ConfiguredTool[] = [];
  for (const e of config.configured_tools) {
    if (!isMcpServerEntry(e)) {
      if (ids.includes(e.tool)) {
        entries.push(e);
        revert.unshift(e);
      }
      continue;
    }
    const all = mcpEntryTools(e);
    const hit = all.filter((t) => ids.includes(t));
    if (!hit.length) continue;
    if (hit.length === all.length) {
      entries.push(e);
      revert.unshift(e);
      continue;
    }
    const files = mcpToolFiles(e, run);
    const mine = new Set(hit.map((t) => files[t]));
    const part = { ...e, mcp_tools: hit, files: fileRecords(e).filter((r) => mine.has(r.file)) };
    slices.push({ part, tools: hit });
    revert.unshift(part);
  }
  for (const t of requested) {
    const touched =
      entries.some((e) => e.tool === t.id || mcpEntryTools(e).includes(t.id as McpToolId)) ||
      slices.some((s) => s.tools.includes(t.id as McpToolId));
    if (!touched) run.logger.info(`${t.name} was not configured by gatepass; nothing to undo.`);
  }
  const full = entries.length > 0 && entries.length === config.configured_tools.length;
  return { entries, slices, revert, requested, full };
}

/** Narrow an MCP entry (in place) once a slice of it was undone. */
export function applyMcpSlice(entry: ConfiguredTool, slice: McpSlice): void {
  const gone = new Set(fileRecords(slice.part).map((r) => r.file));
  const left = mcpEntryTools(entry).filter((t) => !slice.tools.includes(t));
  const files: FileChange[] = fileRecords(entry).filter((r) => !gone.has(r.file));
  entry['mcp_tools'] = left;
  entry['files'] = files;
  const recorded = entry['mcp_files'];
  if (recorded && typeof recorded === 'object') {
    entry['mcp_files'] = Object.fromEntries(
      Object.entries(recorded).filter(([t]) => !slice.tools.includes(t as McpToolId)),
    );
  }
  entry.mode = left.some((t) => t !== 'claude') ? 'proxy' : 'direct';
  if (gone.has(entry.config_path) && files[0]) entry.config_path = files[0].file;
}

/** A copy of the entry as it is once the slice of it (if any) is undone. */
export function narrowedBy(e: ConfiguredTool, slices: McpSlice[]): ConfiguredTool {
  const slice = slices.find((s) => s.part.tool === e.tool);
  if (!slice) return e;
  const copy = structuredClone(e);
  applyMcpSlice(copy, slice);
  return copy;
}
