/**
 * `gatepass setup`: validate inline flags, detect tools, plan each tool's files (refusing malformed
 * ones), log in — unless `--lazy`, which defers login to the first token request — and only then
 * patch the files (all or nothing) and persist config + configured_tools. Nothing is written before
 * the login succeeds, and a failure after it puts every tool file and the config file back — also
 * after a crash: the writes are journaled first (see journal.ts).
 *
 * This file is the pipeline; each step is a module of its own, and the state they pass along is
 * named in setup-state.ts.
 */
import { commitSetup } from './apply.js';
import { type RunEnv, withToolsLock } from './common.js';
import { showDryRun } from './dry-run.js';
import { recoverInterruptedSetup } from './journal.js';
import { prepareWiring } from './params.js';
import { planSetup } from './plan.js';
import { reportSetup } from './report.js';
import { resolveConfig } from './resolve.js';
import { detectTools } from './select.js';
import type { SetupOptions, SetupResult } from './setup-state.js';
import { signIn } from './sign-in.js';

export { LAZY_COMMAND_MESSAGE, LAZY_MESSAGE } from './report.js';
export type { SetupOptions, SetupResult } from './setup-state.js';

export async function runSetup(run: RunEnv, options: SetupOptions): Promise<SetupResult> {
  return options.dryRun ? setupLocked(run, options) : withToolsLock(run, () => setupLocked(run, options));
}

async function setupLocked(run: RunEnv, options: SetupOptions): Promise<SetupResult> {
  // 0. A setup that died mid-way (kill -9) is rolled back first (journal.ts).
  if (!options.dryRun) await recoverInterruptedSetup(run);
  // 1. Validate the merged config in memory (nothing written yet).
  const config = await resolveConfig(run, options);
  // 2. Which tools.
  const tools = await detectTools(run, options.tools);
  // 3. The values to write: the local proxy key, the gateway layout, the tools' parameters.
  const wiring = await prepareWiring(run, options, config, tools);
  // 4. Plan every file against its current content (throws before any write on a malformed file).
  const plan = await planSetup(run, config, tools, wiring);
  if (options.dryRun) return showDryRun(run, config, wiring, plan);
  // 5. Sign in (unless lazy) before anything is written; then plan again.
  const signedIn = await signIn(run, options, config, wiring, plan);
  // 6. Commit: the journal first, then the key, backups, tool files and config (all or nothing).
  await commitSetup(run, options, config, wiring, plan, signedIn);
  // 7. Tell the user what happened and what to restart.
  return reportSetup(run, options, config, wiring, plan, signedIn);
}
