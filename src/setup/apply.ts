/**
 * Setup step 6, commit: first the journal (what everything below was, fsync'd; see journal.ts),
 * then the local proxy key, the launcher, the backups of previous values, the tool files and the
 * config. A failure here, or a crash (then the next setup, teardown or status), puts everything
 * back from the journal.
 */
import { applyAssignments } from '../config/edit.js';
import type { ConfiguredTool } from '../config/schema.js';
import { updateConfig } from '../config/store.js';
import { describeError } from '../errors.js';
import { LOCAL_PROXY_KEY_NAME } from '../secrets/types.js';
import { writeBackups, writePlanned } from '../tools/edit/file.js';
import { writeLauncher } from '../tools/launcher.js';
import { type RunEnv, toolEnv } from './common.js';
import { beginJournal, endJournal, restoreConfig, rollbackJournal } from './journal.js';
import { recordPendingModels } from './lazy-models.js';
import { toolParams } from './params.js';
import type { PlannedTool, SetupConfig, SetupOptions, SetupPlan, SignedIn, Wiring } from './setup-state.js';

export async function commitSetup(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  wiring: Wiring,
  plan: SetupPlan,
  signedIn: SignedIn,
): Promise<void> {
  const { file } = config;
  const { store, createdKey, proxyKey } = wiring;
  const { planned } = plan;
  const { backups, newBackups } = mergeBackups(plan.backupsBefore, planned);
  const journal = await beginJournal(run, {
    configFile: file,
    configBefore: signedIn.configBefore,
    backups,
    createdKey: createdKey && store !== undefined,
    files: planned.flatMap((p) => p.files),
  }).catch(async (err: unknown) => {
    await restoreConfig(file, signedIn.configBefore);
    throw err;
  });
  try {
    if (createdKey && store) await store.set(LOCAL_PROXY_KEY_NAME, proxyKey);
    await writeLauncher(run.paths.dataDir, wiring.self, run.platform);
    if (newBackups) await writeBackups(run.paths.stateDir, backups);
    for (const { files } of planned) for (const f of files) await writePlanned(f);
    await saveConfig(run, options, config, wiring, planned, signedIn);
    await endJournal(run);
  } catch (err) {
    run.logger.warn(`setup failed; undoing its changes (${describeError(err)})`);
    await rollbackJournal(run, journal).catch((e: unknown) =>
      run.logger.warn(
        `could not undo everything (${describeError(e)}); the next gatepass setup, teardown or status finishes it`,
      ),
    );
    throw err;
  }
}

/** Previous values of secret keys: the first setup's backup wins (re-runs never overwrite it). */
function mergeBackups(
  backupsBefore: Record<string, string>,
  planned: PlannedTool[],
): { backups: Record<string, string>; newBackups: boolean } {
  const backups = { ...backupsBefore };
  let newBackups = false;
  for (const { files } of planned) {
    for (const f of files) {
      for (const [id, raw] of Object.entries(f.backups)) {
        if (id in backups) continue;
        backups[id] = raw;
        newBackups = true;
      }
    }
  }
  return { backups, newBackups };
}

/** The inline and discovered settings, the new token reference and a configured_tools entry per tool. */
async function saveConfig(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  wiring: Wiring,
  planned: PlannedTool[],
  signedIn: SignedIn,
): Promise<void> {
  const { file, providerName } = config;
  const { toPersist, params } = wiring;
  const { tokenRef } = signedIn;
  const tenv = toolEnv(run);
  await updateConfig(file, (cfg) => {
    if (toPersist.length) applyAssignments(cfg, providerName, toPersist);
    // The sign-in above ran against the merged settings (a changed gateway or issuer drops the
    // old token_ref): record its token reference now that those settings are saved.
    const saved = cfg.providers[providerName];
    if (tokenRef && saved?.type === 'oidc') saved.token_ref = { ...tokenRef };
    // A lazy setup after a logout asks for "login pending" again: tools may sign in on first use.
    if (options.lazy && saved) delete saved.logged_out;
    // A lazy setup leaves the gateway's models to the first token (lazy-models.ts).
    if (saved)
      recordPendingModels(saved, {
        ...options,
        explicit: config.assignments.some((a) => a.spec.key === 'models'),
      });
    for (const { tool, files } of planned) {
      if (tool.mode === 'manual') continue; // nothing written, nothing to undo
      const entry: ConfiguredTool = {
        tool: tool.id,
        mode: tool.mode,
        config_path: tool.configPath(tenv),
        provider: providerName,
        files: files.map((f) => f.record),
        ...(tool.helper ? { helper: tool.helper(tenv, toolParams(tool, params)) } : {}),
      };
      const i = cfg.configured_tools.findIndex((e) => e.tool === tool.id);
      if (i >= 0) cfg.configured_tools[i] = entry;
      else cfg.configured_tools.push(entry);
    }
  });
}
