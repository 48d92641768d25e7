/** Build the setup/teardown/status environment from the CLI context. */
import { homeOf, type RunEnv } from '../../setup/common.js';
import type { CliContext } from '../context.js';

export function runEnvFrom(ctx: CliContext): RunEnv {
  return {
    paths: ctx.paths,
    env: ctx.env,
    home: homeOf(ctx.env),
    platform: process.platform,
    logger: ctx.logger,
    out: (line) => ctx.print(line),
    stderr: ctx.stderr,
    now: ctx.now,
  };
}
