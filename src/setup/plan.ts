/**
 * Setup step 4, plan: each tool's files planned against their current content (a malformed file
 * throws here, before any write), and the manual steps to print. Run again after the sign-in: the
 * user may have edited a file while the browser was open.
 */
import type { ConfiguredTool } from '../config/schema.js';
import { type PlannedFile, planFile, readBackups } from '../tools/edit/file.js';
import type { ToolModule, WireParams } from '../tools/index.js';
import { fileRecords, type RunEnv, toolEnv } from './common.js';
import { egressNotice } from './layout.js';
import { keepUserModelKeys } from './lazy-models.js';
import { toolParams } from './params.js';
import type { PlannedTool, SetupConfig, SetupPlan, Wiring } from './setup-state.js';

export async function planSetup(
  run: RunEnv,
  config: SetupConfig,
  tools: ToolModule[],
  wiring: Wiring,
): Promise<SetupPlan> {
  const tenv = toolEnv(run);
  const backupsBefore = await readBackups(run.paths.stateDir);
  const manual: string[] = [];
  for (const tool of tools) if (tool.manualSteps) manual.push(...tool.manualSteps(tenv, wiring.params));
  manual.push(...egressNotice(config.provider, run.env, tools));
  const planned = await planTools(run, config, tools, wiring.params, backupsBefore, wiring.keepUserModels);
  return { tools, backupsBefore, manual, planned };
}

/** Plan every file of `tools` (a retired file no earlier run touched is left out). */
export async function planTools(
  run: RunEnv,
  config: SetupConfig,
  tools: ToolModule[],
  params: WireParams,
  backupsBefore: Record<string, string>,
  keepUserModels = false,
): Promise<PlannedTool[]> {
  const tenv = toolEnv(run);
  const configured: ConfiguredTool[] = config.loaded.config.configured_tools;
  const out: PlannedTool[] = [];
  for (const tool of tools) {
    const previous = configured.find((e) => e.tool === tool.id);
    const prevFiles = previous ? fileRecords(previous) : [];
    const files: PlannedFile[] = [];
    let plans = tool.files(tenv, toolParams(tool, params));
    if (keepUserModels) plans = await keepUserModelKeys(tool.id, plans, prevFiles); // lazy-models.ts
    for (const plan of plans) {
      const f = await planFile(
        plan,
        prevFiles.find((f) => f.file === plan.file),
        backupsBefore,
      );
      if (!f.skip) files.push(f); // a retired file no earlier run touched
    }
    out.push({ tool, files });
  }
  return out;
}
