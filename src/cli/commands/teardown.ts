import { runTeardown } from '../../setup/teardown.js';
import type { CliContext } from '../context.js';
import { runEnvFrom } from './runenv.js';

export async function run(
  ctx: CliContext,
  tool: string | undefined,
  options: { tools?: string; purgeTokens?: boolean; keepTokens?: boolean; dryRun?: boolean },
): Promise<number> {
  const tools = [tool, options.tools].filter((s): s is string => Boolean(s));
  const r = await runTeardown(runEnvFrom(ctx), {
    ...(tools.length ? { tools } : {}),
    purgeTokens: Boolean(options.purgeTokens),
    keepTokens: Boolean(options.keepTokens),
    dryRun: Boolean(options.dryRun),
  });
  return r.failed.length ? 1 : 0;
}
