/**
 * Running a token / refresh command through the shell.
 *
 * - Only stdout is captured (bounded to MAX_OUTPUT_BYTES + 1; past that the command is killed).
 * - stderr is passed through to our stderr while its tail is kept for error messages (tee). When a
 *   human is not watching (non-interactive), the pass-through is redacted and stripped of control
 *   characters (stripControl) line by line; interactive runs forward chunks as they come so
 *   prompts without a newline ("Password: ") show up at once.
 *   An interactive run at a terminal (stdin and our stderr both TTYs) gets the terminal itself as
 *   stderr, so SSO tools that draw prompts, codes or spinners only on a TTY behave as when the user
 *   runs them; its messages are then on screen and errors carry no tail. Neither do errors after a
 *   pass-through to this process' own stderr (it would print the same lines twice).
 * - stdin: inherited for interactive runs (a prompt can read the answer), ignored otherwise.
 * - Non-interactive runs get their own process group, so a timeout kills the whole tree (a shell
 *   wrapper's children too): SIGTERM, then SIGKILL to the group after KILL_GRACE_MS, always — also
 *   when the command itself exited at once and only a child that ignores SIGTERM is left (the run
 *   ends only once the group is empty or has been sent SIGKILL). An interactive run stays in the
 *   terminal's foreground group: a background group reading the TTY would be stopped by SIGTTIN.
 *   Ctrl-C reaches it directly.
 */
import { spawn } from 'node:child_process';
import { AuthError } from '../../errors.js';
import { redact, stripControl } from '../../redact.js';
import { MAX_OUTPUT_BYTES, stderrSuffix } from './parse.js';

const STDERR_TAIL_BYTES = 2048;
const KILL_GRACE_MS = 2000;
const STOP_SIGNALS: NodeJS.Signals[] =
  process.platform === 'win32' ? ['SIGINT'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface RunCommandOptions {
  /** A command line for the shell (`/bin/sh -c` on POSIX, cmd.exe on Windows). */
  command: string;
  /** Names it in errors, e.g. `token_command of provider "corp"`. */
  label: string;
  interactive: boolean;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Where the command's stderr is passed through to. */
  stderr: NodeJS.WritableStream;
  /** When interactive: the stdin to give the command (default: inherit ours). */
  stdinIsTTY?: boolean;
  signal?: AbortSignal;
}

export interface CommandOutput {
  stdout: Buffer;
  stderrTail: string;
}

/** Last lines of a command's stderr, cleaned for an error message: control chars removed, redacted. */
export function formatStderrTail(tail: string, maxLines = 5): string {
  const lines = stripControl(tail)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-maxLines);
  return redact(lines.join('\n'));
}

/** Does any process of the group led by `pid` still exist? */
function groupAlive(pid: number | undefined): boolean {
  if (!pid || process.platform === 'win32') return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killTree(pid: number | undefined, group: boolean, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    if (group && process.platform !== 'win32') process.kill(-pid, signal);
    else process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function runTokenCommand(options: RunCommandOptions): Promise<CommandOutput> {
  const { label } = options;
  const group = !(options.interactive && (options.stdinIsTTY ?? Boolean(process.stdin.isTTY)));
  const atTerminal = !group && options.stderr === process.stderr && Boolean(process.stderr.isTTY);
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, {
      shell: true,
      env: options.env,
      stdio: [options.interactive ? 'inherit' : 'ignore', 'pipe', atTerminal ? 'inherit' : 'pipe'],
      detached: group && process.platform !== 'win32',
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let tail = '';
    let lineBuf = '';
    let settled = false;
    let timedOut = false;
    let oversized = false;
    let killTimer: NodeJS.Timeout | undefined;
    // Set when the command closed its pipes while we were stopping it and its group still had
    // members: the result waits for the SIGKILL, so nothing we started outlives the run.
    let afterKill: (() => void) | undefined;
    let sigkillSent = false;

    const kill = () => {
      killTree(child.pid, group, 'SIGTERM');
      killTimer ??= setTimeout(() => {
        sigkillSent = true;
        killTree(child.pid, group, 'SIGKILL');
        afterKill?.();
      }, KILL_GRACE_MS);
      killTimer.unref();
    };
    // If gatepass exits or is told to stop while the command runs in its own process group (which
    // the terminal's Ctrl-C does not reach), do not leave the command behind.
    const onExit = () => killTree(child.pid, group, 'SIGKILL');
    process.once('exit', onExit);
    const signalHandlers = group
      ? STOP_SIGNALS.map((sig) => {
          const h = () => {
            killTree(child.pid, group, 'SIGTERM');
            removeSignalHandlers();
            // Re-raise only when nobody else handles it (e.g. the proxy's graceful shutdown). Ours runs
            // first (prepended) and is gone by the time signal-exit (proper-lockfile's) runs, so that
            // one sees itself alone and re-raises after releasing the lock.
            if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
          };
          process.prependOnceListener(sig, h);
          return [sig, h] as const;
        })
      : [];
    function removeSignalHandlers() {
      for (const [sig, h] of signalHandlers) process.removeListener(sig, h);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) kill();

    child.stdout!.on('data', (d: Buffer) => {
      if (oversized) return;
      size += d.byteLength;
      if (size > MAX_OUTPUT_BYTES) {
        oversized = true;
        chunks.length = 0;
        kill();
        return;
      }
      chunks.push(d);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      tail = (tail + d).slice(-STDERR_TAIL_BYTES);
      if (options.interactive) {
        options.stderr.write(d);
        return;
      }
      lineBuf += d;
      const nl = lineBuf.lastIndexOf('\n');
      if (nl >= 0) {
        options.stderr.write(redact(stripControl(lineBuf.slice(0, nl + 1))));
        lineBuf = lineBuf.slice(nl + 1);
      }
      if (lineBuf.length > 8192) {
        options.stderr.write(redact(stripControl(lineBuf)));
        lineBuf = '';
      }
    });

    const finish = (err: Error | undefined, out?: CommandOutput) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      removeSignalHandlers();
      options.signal?.removeEventListener('abort', onAbort);
      if (lineBuf) options.stderr.write(`${redact(stripControl(lineBuf))}\n`);
      if (err) reject(err);
      else resolve(out!);
    };

    child.on('error', (err) => {
      finish(
        new AuthError('E_TOKEN_COMMAND', `${label} could not be started: ${err.message}`, { cause: err }),
      );
    });
    // A daemon started by the command may keep our pipes open after the command itself exited:
    // stop waiting for them shortly after the exit (the daemon keeps running).
    child.on('exit', () => {
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr?.destroy();
      }, 1000).unref();
    });
    child.on('close', (code, signal) => {
      if (killTimer && !sigkillSent && group && groupAlive(child.pid)) {
        // Stopping it, and something of its group (e.g. a child ignoring SIGTERM) is still there:
        // report once the group got its SIGKILL. Keep the timer referenced until then.
        afterKill = () => report(code, signal);
        killTimer.ref();
        return;
      }
      if (killTimer) clearTimeout(killTimer);
      report(code, signal);
    });
    function report(code: number | null, signal: NodeJS.Signals | null) {
      // Passed through to our own stderr, the user has just seen it: errors do not repeat it.
      const stderrTail = options.stderr === process.stderr ? '' : formatStderrTail(tail);
      const withTail = stderrSuffix(stderrTail);
      if (oversized) {
        finish(
          new AuthError(
            'E_TOKEN_COMMAND',
            `${label} printed more than ${MAX_OUTPUT_BYTES / 1024} KiB on stdout; it was stopped${withTail}`,
            { hint: 'a token command must print only the token (messages go to stderr)' },
          ),
        );
        return;
      }
      if (timedOut) {
        finish(
          new AuthError(
            'E_AUTH_TIMEOUT',
            `${label} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped${withTail}`,
            { hint: 'raise auth.timeout with `gatepass config set --timeout <seconds>`' },
          ),
        );
        return;
      }
      if (options.signal?.aborted) {
        finish(new AuthError('E_AUTH_FAILED', `${label} was cancelled`));
        return;
      }
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        finish(
          new AuthError('E_TOKEN_COMMAND', `${label} ${how}${withTail}`, {
            ...(code === 127 ? { hint: 'the shell could not find the command; check its path' } : {}),
          }),
        );
        return;
      }
      finish(undefined, { stdout: Buffer.concat(chunks), stderrTail });
    }
  });
}
