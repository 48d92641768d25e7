import { collectStatus, formatStatus } from '../../setup/status.js';
import type { CliContext } from '../context.js';
import { runEnvFrom } from './runenv.js';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const run = runEnvFrom(ctx);
  const report = await collectStatus(run, { checkHelpers: true });
  const { readServiceRecord } = await import('../../setup/service.js');
  const service = await readServiceRecord(ctx.paths.stateDir);
  // Managed tool settings overriding the wiring: warnings on stderr (the tool may still work).
  const { warnManagedConflicts } = await import('../../setup/service-hooks.js');
  const conflicts = await warnManagedConflicts(
    run,
    report.tools.map((t) => t.tool),
  );
  if (options.json) {
    const proxyService = service ? { file: service.file, provider: service.provider } : null;
    ctx.print(
      JSON.stringify({ ...report, proxy_service: proxyService, managed_conflicts: conflicts }, null, 2),
    );
  } else {
    for (const line of formatStatus(report)) ctx.print(line);
    if (service) ctx.print(`Proxy service: ${service.file} (provider "${service.provider}")`);
  }
  // A diagnostic: not logged in, a broken or drifted tool, or an invalid config is a failure.
  return report.problems.length ? 1 : 0;
}
