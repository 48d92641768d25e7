/**
 * The small hooks setup, teardown and status run around their main work: the proxy service
 * (`setup --proxy-service` installs it when a proxy-mode tool is wired, teardown removes it) and the
 * warnings about managed tool settings that override gatepass' wiring (tools/managed-conflicts.ts).
 */
import { describeError } from '../errors.js';
import { findTool } from '../tools/index.js';
import {
  type ConflictEnv,
  conflictWarning,
  findManagedConflicts,
  type ManagedConflict,
} from '../tools/managed-conflicts.js';
import type { RunEnv } from './common.js';
import {
  type CommandRunner,
  installService,
  processRunner,
  readServiceRecord,
  reportInstall,
  serviceSpec,
  uninstallService,
} from './service.js';
import type { SetupResult } from './setup.js';

export interface HookOptions {
  /** Injected in tests: the service manager commands. */
  runner?: CommandRunner;
  /** Injected in tests: Windows `reg query`. */
  regQuery?: ConflictEnv['regQuery'];
}

function serviceEnv(run: RunEnv) {
  return { platform: run.platform, home: run.home, env: run.env, paths: run.paths };
}

/** Warn about managed settings overriding the wiring of `toolIds`; returns the warnings. */
export async function warnManagedConflicts(
  run: RunEnv,
  toolIds: string[],
  options: HookOptions = {},
): Promise<ManagedConflict[]> {
  const conflicts = await findManagedConflicts(
    { platform: run.platform, env: run.env, ...(options.regQuery ? { regQuery: options.regQuery } : {}) },
    toolIds,
  );
  for (const c of conflicts) run.logger.warn(conflictWarning(c, findTool(c.tool)?.name ?? c.tool));
  return conflicts;
}

/** After setup: managed-settings warnings, then the proxy service (installed, or mentioned). */
export async function afterSetup(
  run: RunEnv,
  result: SetupResult,
  options: HookOptions & { proxyService: boolean; dryRun: boolean },
): Promise<void> {
  await warnManagedConflicts(
    run,
    result.tools.map((t) => t.id),
    options,
  );
  if (!result.tools.some((t) => t.mode === 'proxy')) {
    if (options.proxyService)
      run.logger.info('No proxy-mode tool was wired: --proxy-service installed nothing.');
    return;
  }
  const env = serviceEnv(run);
  if (!options.proxyService) {
    if (!(await readServiceRecord(run.paths.stateDir)))
      run.logger.info(
        'Tip: `gatepass setup --proxy-service` (or `gatepass proxy install`) keeps the proxy running across logins and reboots.',
      );
    return;
  }
  if (options.dryRun) {
    run.logger.info(`Dry run: --proxy-service would install ${serviceSpec(env, result.provider).file}.`);
    return;
  }
  const r = await installService(env, result.provider, {
    run: options.runner ?? processRunner(run.env),
    logger: run.logger,
    installedBy: 'setup',
  });
  reportInstall(run.logger, r);
}

/** Teardown, once no proxy-mode tool is left: remove the recorded proxy service. */
export async function teardownService(run: RunEnv, options: HookOptions = {}): Promise<boolean> {
  try {
    const r = await uninstallService(serviceEnv(run), {
      run: options.runner ?? processRunner(run.env),
      logger: run.logger,
    });
    if (r.removed) run.logger.info(`Removed the gatepass proxy service (${r.file}).`);
    return r.removed;
  } catch (err) {
    run.logger.warn(`could not remove the gatepass proxy service: ${describeError(err)}`);
    return false;
  }
}
