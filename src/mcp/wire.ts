/**
 * `gatepass mcp add|remove|list`: wire a remote MCP server into tools, unwire it, list them. Edits
 * go through the same machinery as setup: planned against the current content (malformed files are
 * refused before any write), journaled before the first write (a crash is rolled back by the next
 * setup, teardown, status or mcp command), byte-exact, secret values backed up privately, and
 * recorded in a `configured_tools` entry (`mcp:NAME`) so `teardown` undoes them too.
 */
import { effectiveProxyPort, type GatepassConfig } from '../config/schema.js';
import { loadConfig, requireProvider, updateConfig } from '../config/store.js';
import { requireUsableProvider } from '../config/validate.js';
import { describeError, ToolConfigError, UsageError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { generateLocalProxyKey, getLocalProxyKey } from '../secrets/local-key.js';
import { LOCAL_PROXY_KEY_NAME } from '../secrets/types.js';
import {
  fileRecords,
  hintCommand,
  openStore,
  pinnedArgs,
  type RunEnv,
  toolEnv,
  withToolsLock,
} from '../setup/common.js';
import { beginJournal, endJournal, recoverInterruptedSetup, rollbackJournal } from '../setup/journal.js';
import { mcpEntryTools, mcpToolFiles } from '../setup/teardown-scope.js';
import {
  type FilePlan,
  type PlannedFile,
  planFile,
  readBackups,
  revertFile,
  writeBackups,
  writePlanned,
} from '../tools/edit/file.js';
import type { FileChange } from '../tools/edit/types.js';
import { findTool } from '../tools/index.js';
import { launcherPath, writeLauncher } from '../tools/launcher.js';
import { resolveSelf } from '../tools/self.js';
import type { SelfCommand } from '../tools/types.js';
import { readTextIfExists } from '../util/fs.js';
import {
  checkMcpName,
  checkMcpUrl,
  findMcpEntry,
  MCP_TOOLS,
  type McpEntry,
  type McpToolId,
  mcpEntries,
  mcpNameOf,
  mcpToolId,
  parseMcpTools,
} from './entries.js';
import { mcpFilePlan, mcpProxyUrl, viaProxy } from './plan.js';

export interface McpAddOptions {
  name: string;
  url: string;
  /** `--tools` as given (default: every tool that can take an MCP server). */
  tools?: string;
  /** `--provider` (default: the config's default provider). */
  provider?: string;
  /** Audience for the token exchange (mcp.token_exchange), besides the URL as resource. */
  audience?: string;
  /** How tools run gatepass (default: this process's executable), through the launcher. */
  self?: SelfCommand;
}

export interface McpAddResult {
  name: string;
  url: string;
  provider: string;
  tools: McpToolId[];
  files: string[];
  changed: boolean;
}

export async function addMcpServer(run: RunEnv, options: McpAddOptions): Promise<McpAddResult> {
  checkMcpName(options.name);
  const url = checkMcpUrl(options.url);
  if (
    options.audience !== undefined &&
    (!options.audience.trim() || /[\u0000-\u001f\u007f]/.test(options.audience))
  )
    throw new UsageError('--audience must be a non-empty value without control characters');
  const tools = options.tools === undefined ? await defaultMcpTools(run) : parseMcpTools(options.tools);
  return withToolsLock(run, () => addLocked(run, options, url, tools));
}

/**
 * Without --tools: the tools gatepass has wired (setup) that take MCP servers; when it wired none of
 * them, the installed ones (never a config directory for a tool the user does not have).
 */
async function defaultMcpTools(run: RunEnv): Promise<McpToolId[]> {
  const { config } = await loadConfig(run.paths.configFile);
  const wired = MCP_TOOLS.filter((id) => config.configured_tools.some((e) => e.tool === id));
  if (wired.length) return wired;
  const tenv = toolEnv(run);
  const found: McpToolId[] = [];
  for (const id of MCP_TOOLS) if (await findTool(id)?.detect(tenv)) found.push(id);
  if (!found.length) {
    throw new ToolConfigError(
      `none of the tools that take MCP servers (${MCP_TOOLS.map((id) => findTool(id)?.name ?? id).join(', ')}) is installed`,
      {
        code: 'E_TOOL_NOT_INSTALLED',
        hint: 'install one, or name it with --tools claude-code',
      },
    );
  }
  return found;
}

async function addLocked(
  run: RunEnv,
  o: McpAddOptions,
  url: string,
  tools: McpToolId[],
): Promise<McpAddResult> {
  await recoverInterruptedSetup(run);
  const file = run.paths.configFile;
  const { config } = await loadConfig(file);
  const { name: providerName, provider } = requireProvider(config, o.provider, file);
  requireUsableProvider(providerName, provider, config);
  const previous = findMcpEntry(config, o.name);
  const backupsBefore = await readBackups(run.paths.stateDir);
  const { store, proxyKey, createdKey } = await localKeyFor(run, tools);
  const tenv = toolEnv(run);
  const params = {
    name: o.name,
    url,
    self: { command: launcherPath(run.paths.dataDir, run.platform), args: pinnedArgs(run, providerName) },
    proxyUrl: `http://127.0.0.1:${effectiveProxyPort(config)}`,
    proxyKey,
  };
  const { planned, retired } = await planMcpFiles(
    tools.map((tool) => mcpFilePlan(tool, tenv, params)),
    previous ? fileRecords(previous) : [],
    backupsBefore,
  );

  const backups = { ...backupsBefore };
  let newBackups = false;
  for (const f of planned) {
    for (const [id, raw] of Object.entries(f.backups)) {
      if (id in backups) continue;
      backups[id] = raw;
      newBackups = true;
    }
  }
  const configBefore = await readTextIfExists(file);
  const journal = await beginJournal(run, {
    configFile: file,
    configBefore,
    backups,
    createdKey: createdKey && store !== undefined,
    files: [...planned, ...retired],
  });
  try {
    if (createdKey && store) await store.set(LOCAL_PROXY_KEY_NAME, proxyKey);
    await writeLauncher(run.paths.dataDir, o.self ?? resolveSelf(), run.platform);
    if (newBackups) await writeBackups(run.paths.stateDir, backups);
    for (const f of [...planned, ...retired]) await writePlanned(f);
    await updateConfig(file, (cfg) => {
      const entry: McpEntry = {
        tool: mcpToolId(o.name),
        mode: tools.some(viaProxy) ? 'proxy' : 'direct',
        config_path: planned[0]!.file,
        provider: providerName,
        mcp_url: url,
        mcp_tools: tools,
        mcp_files: Object.fromEntries(tools.map((t, i) => [t, planned[i]!.file])),
        ...(o.audience ? { mcp_audience: o.audience } : {}),
        files: [...planned, ...retired.filter((f) => f.record.created)].map((f) => f.record),
      };
      const i = cfg.configured_tools.findIndex((e) => e.tool === entry.tool);
      if (i >= 0) cfg.configured_tools[i] = entry;
      else cfg.configured_tools.push(entry);
    });
    await endJournal(run);
  } catch (err) {
    run.logger.warn(`mcp add failed; undoing its changes (${describeError(err)})`);
    await rollbackJournal(run, journal).catch((e: unknown) =>
      run.logger.warn(
        `could not undo everything (${describeError(e)}); the next gatepass setup, teardown or status finishes it`,
      ),
    );
    throw err;
  }
  const changed = [...planned, ...retired].some((f) => f.before !== f.after);
  run.logger.info(
    `${changed ? 'Wired' : 'Already wired'} MCP server "${o.name}" (${url}) into ${tools.join(', ')}: ${planned.map((f) => f.file).join(', ')}`,
  );
  if (tools.some(viaProxy)) {
    run.logger.info(
      `Proxy-routed tools reach it through ${params.proxyUrl}/mcp/${o.name}: keep \`${hintCommand(run, providerName, config, 'proxy start')}\` running.`,
    );
  }
  if (changed) run.logger.info('Restart the tools (new sessions) to pick the server up.');
  return { name: o.name, url, provider: providerName, tools, files: planned.map((f) => f.file), changed };
}

/** The local proxy key, for proxy-routed tools (generated now, stored only once the files are written). */
async function localKeyFor(run: RunEnv, tools: McpToolId[]) {
  const store = tools.some(viaProxy) ? await openStore(run) : undefined;
  if (!store) return { store, proxyKey: '', createdKey: false };
  const existing = await getLocalProxyKey(store);
  const proxyKey = existing ?? generateLocalProxyKey();
  registerSecret(proxyKey);
  return { store, proxyKey, createdKey: !existing };
}

/**
 * Plan each tool's file against its current content and this server's earlier record; files an
 * earlier `mcp add NAME` wired and this one does not are retired (their keys undone, journaled).
 */
async function planMcpFiles(
  plans: FilePlan[],
  prevFiles: FileChange[],
  backupsBefore: Record<string, string>,
): Promise<{ planned: PlannedFile[]; retired: PlannedFile[] }> {
  const planned: PlannedFile[] = [];
  for (const plan of plans) {
    planned.push(
      await planFile(
        plan,
        prevFiles.find((f) => f.file === plan.file),
        backupsBefore,
      ),
    );
  }
  const retired: PlannedFile[] = [];
  for (const r of prevFiles.filter((r) => !planned.some((p) => p.file === r.file))) {
    const f = await planFile(
      { file: r.file, format: r.format, settings: [], retire: true },
      r,
      backupsBefore,
    );
    if (!f.skip) retired.push(f);
  }
  return { planned, retired };
}

export async function removeMcpServer(run: RunEnv, name: string): Promise<{ removed: boolean }> {
  checkMcpName(name);
  return withToolsLock(run, async () => {
    await recoverInterruptedSetup(run);
    const file = run.paths.configFile;
    const { config } = await loadConfig(file);
    const entry = findMcpEntry(config, name);
    if (!entry) {
      throw new UsageError(`no MCP server named "${name}" was added by gatepass`, {
        hint: 'see `gatepass mcp list`',
      });
    }
    const backups = await readBackups(run.paths.stateDir);
    const handover = new Map<string, number>();
    for (const record of [...fileRecords(entry)].reverse()) {
      // OpenCode's opencode.json also holds its LLM wiring's key: the file stays private then, and
      // that wiring's record takes over the mode to give back when its key goes.
      const shared = secretHolders(config, entry, record.file);
      const r = await revertFile(record, backups, { keepPrivate: shared.length > 0 });
      if (shared.length && record.mode_before !== undefined) handover.set(record.file, record.mode_before);
      for (const p of r.drifted)
        run.logger.warn(
          `${record.file}: ${p.join('.')} was changed since it was added; left your value in place`,
        );
      for (const c of record.changes) if (c.before_backup) delete backups[c.before_backup];
      run.logger.info(`Unwired MCP server "${name}": ${r.file} (${r.outcome})`);
    }
    await writeBackups(run.paths.stateDir, backups);
    await updateConfig(
      file,
      (cfg) => {
        cfg.configured_tools = cfg.configured_tools.filter((e) => e.tool !== entry.tool);
        for (const [f, mode] of handover) {
          for (const r of secretHolders(cfg, entry, f)) r.mode_before ??= mode;
        }
      },
      { validation: 'partial' },
    );
    return { removed: true };
  });
}

/** Records of other configured_tools entries keeping a secret in `file`. */
function secretHolders(config: GatepassConfig, entry: McpEntry, file: string): FileChange[] {
  return config.configured_tools
    .filter((e) => e.tool !== entry.tool)
    .flatMap((e) => fileRecords(e))
    .filter((r) => r.file === file && r.changes.some((c) => c.after_sha256 !== undefined));
}

export interface McpListItem {
  name: string;
  url: string;
  provider: string;
  tools: McpToolId[];
  files: string[];
  /** Per tool: the file holding the server and the URL the tool connects to. */
  wired: Array<{ tool: McpToolId; file: string; via: 'headersHelper' | 'proxy'; url: string }>;
}

export function listMcpServers(config: GatepassConfig, run: RunEnv): McpListItem[] {
  const proxyUrl = `http://127.0.0.1:${effectiveProxyPort(config)}`;
  return mcpEntries(config).map((e) => {
    const files = mcpToolFiles(e, run);
    const tools = mcpEntryTools(e);
    return {
      name: mcpNameOf(e),
      url: e.mcp_url,
      provider: e.provider ?? config.default_provider,
      tools,
      files: fileRecords(e).map((r) => r.file),
      wired: tools.map((tool) => ({
        tool,
        file: files[tool]!,
        via: viaProxy(tool) ? 'proxy' : 'headersHelper',
        url: viaProxy(tool) ? mcpProxyUrl(proxyUrl, mcpNameOf(e)) : e.mcp_url,
      })),
    };
  });
}
