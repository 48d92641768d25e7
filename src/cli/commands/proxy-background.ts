/**
 * `gatepass proxy start --background`: start the proxy as a detached child (the same command with
 * a nonce in its environment, proxy-start.ts), wait until it proves its identity on the port,
 * record it in the state file and print its URL; or report why the child did not come up.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ProxyError } from '../../errors.js';
import { getProxyStatus, probeHealth, provesIdentity } from '../../proxy/control.js';
import { rotateIfLarge } from '../../proxy/error-log.js';
import { NONCE_ENV, processStartTicks, writeProxyState } from '../../proxy/state.js';
import { ensurePrivateDir, PRIVATE_DIR_MODE } from '../../util/fs.js';
import { IS_SEA } from '../../util/sea.js';
import type { CliContext } from '../context.js';

interface BackgroundOptions {
  port: number;
  provider: string;
  skipBrowser: boolean;
  extraArgs?: string[];
}

export async function startBackground(ctx: CliContext, options: BackgroundOptions): Promise<number> {
  const existing = await getProxyStatus(ctx.paths);
  if (existing.running && existing.state) {
    if (existing.state.port === options.port && existing.state.provider === options.provider) {
      ctx.logger.info(`gatepass proxy already running (pid ${existing.state.pid})`);
      ctx.print(existing.state.url);
      return 0;
    }
    throw new ProxyError(
      'E_PROXY',
      `a gatepass proxy already runs on port ${existing.state.port} (pid ${existing.state.pid})`,
      {
        hint: 'stop it first with `gatepass proxy stop`',
      },
    );
  }
  if (await probeHealth(options.port, 500)) {
    throw new ProxyError(
      'E_PORT_IN_USE',
      `a gatepass proxy not started in the background already answers on port ${options.port}`,
      {
        hint: 'stop it (Ctrl-C in its terminal), or choose another port with --port',
      },
    );
  }

  // GATEPASS_STATE_DIR names a directory of the user's: create it private, never chmod it.
  await ensurePrivateDir(ctx.paths.stateDir, PRIVATE_DIR_MODE, {
    tightenExisting: !ctx.env['GATEPASS_STATE_DIR'],
  });
  const logFile = path.join(ctx.paths.stateDir, 'proxy.log');
  rotateIfLarge(logFile);
  const fd = openSync(logFile, 'a', 0o600);
  const args = [process.argv[1]!, '--config', ctx.paths.configFile, '--provider', options.provider];
  if (IS_SEA) args.shift(); // the single executable is the program itself, with no script argument
  if (ctx.logger.verbose) args.push('--verbose');
  args.push('proxy', 'start', '--port', String(options.port));
  if (options.skipBrowser) args.push('--skip-browser');
  if (options.extraArgs) args.push(...options.extraArgs);
  const nonce = randomBytes(32).toString('hex');
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...ctx.env, [NONCE_ENV]: nonce },
    cwd: ctx.paths.stateDir,
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const pid = child.pid;
  if (pid === undefined) throw new ProxyError('E_PROXY', 'could not start the background proxy');

  const deadline = ctx.now() + 15_000;
  let healthy = false;
  while (ctx.now() < deadline && exited === undefined) {
    if (await provesIdentity(options.port, nonce, pid, 500)) {
      healthy = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!healthy) {
    if (exited === undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // The child's own error (e.g. port in use, no provider) is the useful part of its log.
    const last = (await readFile(logFile, 'utf8').catch(() => ''))
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('gatepass: error:') || l.startsWith('hint:'))
      .slice(-2)
      .map((l) => l.replace(/^gatepass: error: /, ''));
    throw new ProxyError(
      'E_PROXY',
      exited === undefined
        ? `the background proxy did not answer on port ${options.port} in time`
        : `the background proxy exited (code ${exited}) before answering${last[0] ? `: ${last[0]}` : ''}`,
      { hint: `${last[1] ? `${last[1].replace(/^hint: /, '')}; ` : ''}log: ${logFile}` },
    );
  }
  child.unref();
  const url = `http://127.0.0.1:${options.port}`;
  const procStart = await processStartTicks(pid);
  await writeProxyState(ctx.paths, {
    pid,
    port: options.port,
    url,
    provider: options.provider,
    startedAt: ctx.now(),
    nonce,
    ...(procStart !== undefined ? { procStart } : {}),
  });
  ctx.logger.info(`gatepass proxy started in the background (pid ${pid}); logs in ${logFile}`);
  ctx.print(url);
  return 0;
}
