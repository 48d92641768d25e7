/**
 * Which entries a teardown undoes when MCP servers are wired (setup/teardown-scope.ts): a per-tool
 * teardown takes that tool's record out of each `mcp:NAME` entry (found by the recorded file, or
 * for entries written before files were recorded per tool, by the tool's usual file), undoes an
 * entry whole once all its tools go, reverts newest first, and narrows what is left.
 */
import { describe, expect, it } from 'vitest';
import type { ConfiguredTool, GatepassConfig } from '../../src/config/schema.js';
import type { RunEnv } from '../../src/setup/common.js';
import { applyMcpSlice, entryLabel, narrowedBy, selectTeardown } from '../../src/setup/teardown-scope.js';

const lines: string[] = [];
const run = {
  home: '/home/u',
  platform: 'linux',
  env: {},
  logger: { info: (l: string) => lines.push(l), warn() {}, error() {}, debug() {} },
} as unknown as RunEnv;

const rec = (file: string) => ({ file, format: 'json', created: false, created_dirs: [], changes: [] });
const claude: ConfiguredTool = {
  tool: 'claude',
  mode: 'direct',
  config_path: '/home/u/.claude/settings.json',
  files: [rec('/home/u/.claude/settings.json')],
};
/** Written before mcp_files existed: claude and gemini by their usual files. */
const legacy: ConfiguredTool = {
  tool: 'mcp:wiki',
  mode: 'proxy',
  config_path: '/home/u/.claude.json',
  mcp_url: 'https://mcp.example.test/mcp',
  mcp_tools: ['claude', 'gemini'],
  files: [rec('/home/u/.claude.json'), rec('/home/u/.gemini/settings.json')],
};
const recorded: ConfiguredTool = {
  tool: 'mcp:docs',
  mode: 'proxy',
  config_path: '/x/codex.toml',
  mcp_url: 'https://docs.example.test/mcp',
  mcp_tools: ['codex', 'cursor'],
  mcp_files: { codex: '/x/codex.toml', cursor: '/home/u/.cursor/mcp.json' },
  files: [rec('/x/codex.toml'), rec('/home/u/.cursor/mcp.json')],
};
const config = {
  version: 1,
  default_provider: 'p',
  providers: {},
  proxy: {},
  configured_tools: [claude, legacy, recorded],
} as GatepassConfig;

describe('teardown scope with MCP servers', () => {
  it('a per-tool teardown slices each MCP entry by tool, newest first, and narrows it', () => {
    const s = selectTeardown(run, config, ['claude']);
    expect(s.entries).toEqual([claude]);
    expect(s.slices).toHaveLength(1);
    expect(s.slices[0]!.part).toMatchObject({ tool: 'mcp:wiki', mcp_tools: ['claude'] });
    expect(s.slices[0]!.part['files']).toEqual([rec('/home/u/.claude.json')]);
    expect(s.revert.map((e) => e.tool)).toEqual(['mcp:wiki', 'claude']);
    expect(s.full).toBe(false);
    expect(entryLabel(s.slices[0]!.part)).toBe('MCP server "wiki" (Claude Code)');

    const left = narrowedBy(legacy, s.slices);
    expect(left).toMatchObject({
      mcp_tools: ['gemini'],
      mode: 'proxy',
      config_path: '/home/u/.gemini/settings.json',
      files: [rec('/home/u/.gemini/settings.json')],
    });
    expect(legacy['mcp_tools']).toEqual(['claude', 'gemini']); // the original is untouched
  });

  it('uses the recorded file per tool, undoes an entry whole once all its tools go', () => {
    const one = selectTeardown(run, config, ['cursor']);
    expect(one.slices[0]!.part['files']).toEqual([rec('/home/u/.cursor/mcp.json')]);
    const copy = structuredClone(recorded);
    applyMcpSlice(copy, one.slices[0]!);
    expect(copy).toMatchObject({ mcp_tools: ['codex'], mcp_files: { codex: '/x/codex.toml' } });
    expect(copy['mcp_files']).not.toHaveProperty('cursor');

    const both = selectTeardown(run, config, ['codex', 'cursor']);
    expect(both.entries).toEqual([recorded]);
    expect(both.slices).toEqual([]);
  });

  it('says so for a tool wired nowhere, and a full teardown reverts every entry newest first', () => {
    lines.length = 0;
    selectTeardown(run, config, ['opencode']);
    expect(lines).toEqual(['OpenCode was not configured by gatepass; nothing to undo.']);
    lines.length = 0;
    selectTeardown(run, config, ['gemini']);
    expect(lines).toEqual([]);
    const all = selectTeardown(run, config, undefined);
    expect(all.full).toBe(true);
    expect(all.revert.map((e) => e.tool)).toEqual(['mcp:docs', 'mcp:wiki', 'claude']);
  });
});
