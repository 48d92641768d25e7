/** Build the setup/teardown/status environment from the CLI context. */
import { homedir } from 'node:os';
import type { RunEnv } from '../../setup/common.js';
import type { CliContext } from '../context.js';

export function runEnvFrom(ctx: CliContext): RunEnv {
  const home =
    (process.platform === 'win32' ? ctx.env['USERPROFILE'] : ctx.env['HOME']) || ctx.env['HOME'] || homedir();
  return {
    paths: ctx.paths,
    env: ctx.env,
    home,
    platform: process.platform,
    logger: ctx.logger,
    out: (line) => ctx.print(line),
    stderr: ctx.stderr,
    now: ctx.now,
  };
}
