/**
 * `gatepass teardown`: undo exactly what setup recorded (keys the user changed since are left alone,
 * with a warning), remove files and directories gatepass created, delete cached tokens, stop a
 * background proxy, and forget the configured_tools entries. `teardownLocked` runs the steps in
 * order, each a function below it.
 */
import { logoutProvider } from '../auth/login.js';
import type { ConfiguredTool, GatepassConfig } from '../config/schema.js';
import { loadConfig, updateConfig } from '../config/store.js';
import { describeError, GatepassError, UsageError } from '../errors.js';
import { stopBackgroundProxy } from '../proxy/control.js';
import { readProxyState } from '../proxy/state.js';
import { LOCAL_PROXY_KEY_NAME } from '../secrets/types.js';
import { readBackups, revertFile, writeBackups } from '../tools/edit/file.js';
import { findTool } from '../tools/index.js';
import { authContext, fileRecords, openStore, type RunEnv, withToolsLock } from './common.js';
import { recoverInterruptedSetup } from './journal.js';
import {
  applyMcpSlice,
  entryLabel,
  type McpSlice,
  narrowedBy,
  selectTeardown,
  type TeardownScope,
} from './teardown-scope.js';

export interface TeardownOptions {
  tools?: string[];
  /** Delete cached tokens even for a partial teardown (and revoke the refresh token). */
  purgeTokens?: boolean;
  /** Keep cached tokens even for a full teardown. */
  keepTokens?: boolean;
  /** Show what would be restored (a diff per file) and change nothing. */
  dryRun?: boolean;
  logout?: typeof logoutProvider;
  stopProxy?: typeof stopBackgroundProxy;
  /** Injected in tests: the service manager commands of the proxy service. */
  serviceHooks?: import('./service-hooks.js').HookOptions;
}

export interface TeardownResult {
  tools: Array<{ id: string; files: Array<{ file: string; outcome: string; drifted: string[] }> }>;
  failed: Array<{ id: string; error: string }>;
  tokensDeleted: boolean;
  proxyStopped: boolean;
}

export async function runTeardown(run: RunEnv, options: TeardownOptions): Promise<TeardownResult> {
  if (options.dryRun) {
    if (options.purgeTokens && options.keepTokens) throw contradiction();
    const { previewTeardown } = await import('./teardown-preview.js');
    await previewTeardown(run, options);
    return { tools: [], failed: [], tokensDeleted: false, proxyStopped: false };
  }
  return withToolsLock(run, () => teardownLocked(run, options));
}

const contradiction = () =>
  new UsageError('--purge-tokens and --keep-tokens contradict each other; pass one of them');

async function teardownLocked(run: RunEnv, options: TeardownOptions): Promise<TeardownResult> {
  if (options.purgeTokens && options.keepTokens) throw contradiction();
  // 0. A setup that died mid-way (kill -9) is rolled back first (journal.ts).
  await recoverInterruptedSetup(run);
  // 1. Which configured tools.
  const { config } = await loadConfig(run.paths.configFile);
  const scope = selectTeardown(run, config, options.tools);
  const result: TeardownResult = { tools: [], failed: [], tokensDeleted: false, proxyStopped: false };
  // 2. Revert each tool's files (newest change first), MCP servers' parts of the torn-down tools
  //    too (teardown-scope.ts), and tell the user what to restart.
  const reverted = await revertTools(run, scope.revert, result);
  const slices = scope.slices.filter((s) => reverted.has(s.part.tool));
  const done = new Set([...reverted].filter((id) => !slices.some((s) => s.part.tool === id)));
  reportRestarts(run, result);
  // 3. Forget the reverted tools in configured_tools (narrow the MCP entries undone in part).
  await forgetTools(run, done, slices);
  // 4. Tokens: deleted on a full teardown unless kept; on a partial one only with --purge-tokens.
  if (options.purgeTokens || (scope.full && !options.keepTokens))
    await deleteTokens(run, options, config, scope, result);
  // 5. A background proxy (and its service) is no longer needed once no proxy-mode tool is left.
  const remaining = config.configured_tools
    .filter((e) => !done.has(e.tool))
    .map((e) => narrowedBy(e, slices));
  if (!remaining.some((e) => e.mode === 'proxy')) await stopProxy(run, options, result);
  if (scope.entries.length === 0 && !scope.requested)
    run.logger.info('No tools were configured by gatepass.');
  return result;
}

/** Revert every file of `entries`, newest first; returns the ids of the tools fully reverted. */
async function revertTools(
  run: RunEnv,
  entries: ConfiguredTool[],
  result: TeardownResult,
): Promise<Set<string>> {
  const backups = await readBackups(run.paths.stateDir);
  const done = new Set<string>();

  for (const entry of entries) {
    const name = entryLabel(entry);
    try {
      const files = [];
      for (const record of [...fileRecords(entry)].reverse()) {
        const r = await revertFile(record, backups);
        files.push({
          file: r.file,
          outcome: r.note ? `${r.outcome}: ${r.note}` : r.outcome,
          drifted: r.drifted.map((p) => p.join('.')),
        });
        for (const p of r.drifted) {
          run.logger.warn(`${record.file}: ${p.join('.')} was changed since setup; left your value in place`);
        }
        for (const c of record.changes) if (c.before_backup) delete backups[c.before_backup];
      }
      result.tools.push({ id: entry.tool, files });
      done.add(entry.tool);
      const summary = files.map((f) => `${f.file} (${f.outcome})`).join(', ');
      run.logger.info(`Unconfigured ${name}${summary ? `: ${summary}` : ''}`);
    } catch (err) {
      result.failed.push({ id: entry.tool, error: describeError(err) });
      run.logger.error(`could not unconfigure ${name}: ${describeError(err)}`);
    }
  }
  await writeBackups(run.paths.stateDir, backups);
  return done;
}

function reportRestarts(run: RunEnv, result: TeardownResult): void {
  // Running tools keep what they read at launch (Claude Desktop reads its configLibrary only then).
  const restarts = result.tools
    .filter((t) => t.files.some((f) => /^(restored|removed|changed)/.test(f.outcome)))
    .map((t) => findTool(t.id))
    .filter((t) => t !== undefined)
    // An unwired tool no longer needs the proxy: its restart hint says so only after setup.
    .map((t) => `  - ${t.name}: ${t.restart.replace(/, with `gatepass proxy` running/, '')}`);
  if (restarts.length) run.logger.info(`Restart needed:\n${restarts.join('\n')}`);
}

async function forgetTools(run: RunEnv, done: Set<string>, slices: McpSlice[]): Promise<void> {
  if (!done.size && !slices.length) return;
  const file = run.paths.configFile;
  await updateConfig(
    file,
    (cfg) => {
      cfg.configured_tools = cfg.configured_tools.filter((e) => !done.has(e.tool));
      for (const e of cfg.configured_tools) {
        const slice = slices.find((s) => s.part.tool === e.tool);
        if (slice) applyMcpSlice(e, slice);
      }
    },
    { validation: 'partial' },
  ).catch((err) => {
    if (!(err instanceof GatepassError)) throw err;
    run.logger.warn(`could not update ${file}: ${err.message}`);
  });
}

/** Log out the default provider and those of the undone tools; a full purge forgets the proxy key. */
async function deleteTokens(
  run: RunEnv,
  options: TeardownOptions,
  config: GatepassConfig,
  scope: TeardownScope,
  result: TeardownResult,
): Promise<void> {
  const logout = options.logout ?? logoutProvider;
  const names = new Set<string>([
    config.default_provider,
    ...scope.entries.map((e) => e.provider ?? config.default_provider),
  ]);
  const store = await openStore(run);
  for (const name of names) {
    const provider = config.providers[name];
    if (!provider) continue;
    try {
      const r = await logout(authContext(run, config, store, { interactive: false }), name, provider, {
        revoke: Boolean(options.purgeTokens),
      });
      result.tokensDeleted ||= r.deleted;
    } catch (err) {
      run.logger.warn(`could not delete cached tokens of provider "${name}": ${describeError(err)}`);
    }
  }
  if (options.purgeTokens && scope.full) {
    // The local proxy key only exists for proxy-mode tools; a purge forgets it too.
    result.tokensDeleted =
      (await store.delete(LOCAL_PROXY_KEY_NAME).catch(() => false)) || result.tokensDeleted;
  }
  if (result.tokensDeleted) run.logger.info('Deleted cached tokens.');
}

/** Stop the background proxy (if one runs) and remove the proxy service. */
async function stopProxy(run: RunEnv, options: TeardownOptions, result: TeardownResult): Promise<void> {
  const state = await readProxyState(run.paths);
  if (state) {
    try {
      const r = await (options.stopProxy ?? stopBackgroundProxy)(run.paths);
      result.proxyStopped = r.stopped;
      if (r.stopped) run.logger.info(`Stopped the background proxy (pid ${r.pid ?? state.pid}).`);
    } catch (err) {
      run.logger.warn(`could not stop the background proxy (pid ${state.pid}): ${describeError(err)}`);
    }
  }
  const { teardownService } = await import('./service-hooks.js');
  await teardownService(run, options.serviceHooks);
}
