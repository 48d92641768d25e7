/**
 * `gatepass exec -- CMD...`: run CMD with the provider's token in its environment. The token never
 * appears on a command line or on stdout; CMD's exit status becomes ours and the usual termination
 * signals are forwarded to it. CMD does not inherit the env secret store's `GATEPASS_SECRET_*`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { tokenVariables } from '../../auth/export.js';
import { createTokenSource } from '../../auth/factory.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { GatepassError, UsageError } from '../../errors.js';
import { programCaFile } from '../../net/program-ca.js';
import { withoutEnvSecrets } from '../../secrets/env.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export async function run(ctx: CliContext, command: string[]): Promise<number> {
  if (!command.length || !command[0]) {
    throw new UsageError('name the command to run, after --', { hint: 'e.g. `gatepass exec -- env`' });
  }
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  const auth = await buildAuthContext(ctx, { config, interactive: ctx.interactiveTerminal });
  const source = await createTokenSource(auth, name, provider);
  const { token, origin } = await source.getToken();
  ctx.logger.debug(`exec: token for provider "${name}" from ${origin}`);
  const extraCaFile = await programCaFile(provider.tls, ctx.env, ctx.paths.cacheDir);
  // The env secret store's variables (refresh tokens) stay with gatepass: CMD gets the token only.
  const env = { ...withoutEnvSecrets(ctx.env), ...tokenVariables(name, provider, token, { extraCaFile }) };

  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { stdio: 'inherit', env });
  // Ctrl-C / Ctrl-\ at a terminal already reach CMD (same foreground process group): relaying them
  // would deliver each twice, and tools such as Claude Code read a double Ctrl-C as "quit". So at a
  // terminal they only keep gatepass alive until CMD decides; elsewhere they are relayed.
  const atTerminal = Boolean(ctx.stdin.isTTY);
  const forward = (signal: NodeJS.Signals) => {
    if (atTerminal && (signal === 'SIGINT' || signal === 'SIGQUIT')) return;
    child.kill(signal);
  };
  const handlers = FORWARDED.map((s) => {
    const h = () => forward(s);
    process.on(s, h);
    return [s, h] as const;
  });
  const removeHandlers = () => {
    for (const [s, h] of handlers) process.removeListener(s, h);
  };
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    },
  ).catch((err: NodeJS.ErrnoException) => {
    removeHandlers();
    const notFound = err.code === 'ENOENT';
    throw new GatepassError(
      'E_USAGE',
      `cannot run ${JSON.stringify(file)}: ${notFound ? 'command not found' : err.message}`,
      { exitCode: notFound ? 127 : 126 },
    );
  });
  removeHandlers();
  if (outcome.signal) {
    // Die the same way, so a parent shell sees "killed by SIGINT" rather than a plain failure.
    process.kill(process.pid, outcome.signal);
    return 128 + (os.constants.signals[outcome.signal] ?? 0);
  }
  return outcome.code ?? 1;
}
