import { formatDoctor, runDoctor } from '../../doctor/index.js';
import type { CliContext } from '../context.js';
import { applyTlsFlags, type TlsFlags } from '../tls-flags.js';
import { runEnvFrom } from './runenv.js';

export async function run(ctx: CliContext, options: TlsFlags & { json?: boolean }): Promise<number> {
  const report = await runDoctor(runEnvFrom(ctx), {
    ...(ctx.globals.provider ? { provider: ctx.globals.provider } : {}),
    adjust: (provider) => applyTlsFlags(provider, options),
  });
  if (options.json) ctx.print(JSON.stringify(report, null, 2));
  else for (const line of formatDoctor(report)) ctx.print(line);
  return report.checks.some((c) => c.status === 'fail') ? 1 : 0;
}
