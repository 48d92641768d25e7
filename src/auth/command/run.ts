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
 *
 * A run's state is one named object (`Run`); the steps take it: `watchStops` (exit hook, signals,
 * timeout, abort), `collectOutput` (stdout, stderr tee), `watchChild` (error, exit, close), `kill`,
 * `finish`, and `report` (the exit status as a result or an error).
 */
import { type ChildProcess, spawn } from 'node:child_process';
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

/** One command run in progress: the child, what it has printed, and how it is being stopped. */
interface Run {
  readonly options: RunCommandOptions;
  readonly child: ChildProcess;
  /** In its own process group (killed as a whole), not the terminal's foreground group. */
  readonly group: boolean;
  /** stdout so far (dropped once it is oversized). */
  readonly chunks: Buffer[];
  size: number;
  /** The last STDERR_TAIL_BYTES of stderr, for error messages. */
  tail: string;
  /** stderr not yet passed through (non-interactive runs pass whole lines). */
  lineBuf: string;
  settled: boolean;
  timedOut: boolean;
  oversized: boolean;
  killTimer: NodeJS.Timeout | undefined;
  // Set when the command closed its pipes while we were stopping it and its group still had
  // members: the result waits for the SIGKILL, so nothing we started outlives the run.
  afterKill: (() => void) | undefined;
  sigkillSent: boolean;
  timer: NodeJS.Timeout | undefined;
  readonly onExit: () => void;
  readonly onAbort: () => void;
  signalHandlers: (readonly [NodeJS.Signals, () => void])[];
  readonly resolve: (out: CommandOutput) => void;
  readonly reject: (err: Error) => void;
}

export function runTokenCommand(options: RunCommandOptions): Promise<CommandOutput> {
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
    const run: Run = {
      options,
      child,
      group,
      chunks: [],
      size: 0,
      tail: '',
      lineBuf: '',
      settled: false,
      timedOut: false,
      oversized: false,
      killTimer: undefined,
      afterKill: undefined,
      sigkillSent: false,
      timer: undefined,
      // If gatepass exits or is told to stop while the command runs in its own process group (which
      // the terminal's Ctrl-C does not reach), do not leave the command behind.
      onExit: () => killTree(child.pid, group, 'SIGKILL'),
      onAbort: () => kill(run),
      signalHandlers: [],
      resolve,
      reject,
    };
    watchStops(run);
    collectOutput(run);
    watchChild(run);
  });
}

function kill(run: Run): void {
  const { child, group } = run;
  killTree(child.pid, group, 'SIGTERM');
  run.killTimer ??= setTimeout(() => {
    run.sigkillSent = true;
    killTree(child.pid, group, 'SIGKILL');
    run.afterKill?.();
  }, KILL_GRACE_MS);
  run.killTimer.unref();
}

/** gatepass exiting or stopped, the timeout, the caller's abort: each stops the command. */
function watchStops(run: Run): void {
  const { child, group, options } = run;
  process.once('exit', run.onExit);
  run.signalHandlers = group
    ? STOP_SIGNALS.map((sig) => {
        const h = () => {
          killTree(child.pid, group, 'SIGTERM');
          removeSignalHandlers(run);
          // Re-raise only when nobody else handles it (e.g. the proxy's graceful shutdown). Ours runs
          // first (prepended) and is gone by the time signal-exit (proper-lockfile's) runs, so that
          // one sees itself alone and re-raises after releasing the lock.
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        };
        process.prependOnceListener(sig, h);
        return [sig, h] as const;
      })
    : [];
  run.timer = setTimeout(() => {
    run.timedOut = true;
    kill(run);
  }, options.timeoutMs);
  options.signal?.addEventListener('abort', run.onAbort, { once: true });
  if (options.signal?.aborted) kill(run);
}

function removeSignalHandlers(run: Run): void {
  for (const [sig, h] of run.signalHandlers) process.removeListener(sig, h);
}

/** stdout kept (bounded), stderr passed through (redacted when no human watches) and its tail kept. */
function collectOutput(run: Run): void {
  const { child, options } = run;
  child.stdout!.on('data', (d: Buffer) => {
    if (run.oversized) return;
    run.size += d.byteLength;
    if (run.size > MAX_OUTPUT_BYTES) {
      run.oversized = true;
      run.chunks.length = 0;
      kill(run);
      return;
    }
    run.chunks.push(d);
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    run.tail = (run.tail + d).slice(-STDERR_TAIL_BYTES);
    if (options.interactive) {
      options.stderr.write(d);
      return;
    }
    run.lineBuf += d;
    const nl = run.lineBuf.lastIndexOf('\n');
    if (nl >= 0) {
      options.stderr.write(redact(stripControl(run.lineBuf.slice(0, nl + 1))));
      run.lineBuf = run.lineBuf.slice(nl + 1);
    }
    if (run.lineBuf.length > 8192) {
      options.stderr.write(redact(stripControl(run.lineBuf)));
      run.lineBuf = '';
    }
  });
}

function finish(run: Run, err: Error | undefined, out?: CommandOutput): void {
  const { options } = run;
  if (run.settled) return;
  run.settled = true;
  clearTimeout(run.timer);
  process.removeListener('exit', run.onExit);
  removeSignalHandlers(run);
  options.signal?.removeEventListener('abort', run.onAbort);
  if (run.lineBuf) options.stderr.write(`${redact(stripControl(run.lineBuf))}\n`);
  if (err) run.reject(err);
  else run.resolve(out!);
}

function watchChild(run: Run): void {
  const { child, group, options } = run;
  child.on('error', (err) => {
    finish(
      run,
      new AuthError('E_TOKEN_COMMAND', `${options.label} could not be started: ${err.message}`, {
        cause: err,
      }),
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
    if (run.killTimer && !run.sigkillSent && group && groupAlive(child.pid)) {
      // Stopping it, and something of its group (e.g. a child ignoring SIGTERM) is still there:
      // report once the group got its SIGKILL. Keep the timer referenced until then.
      run.afterKill = () => report(run, code, signal);
      run.killTimer.ref();
      return;
    }
    if (run.killTimer) clearTimeout(run.killTimer);
    report(run, code, signal);
  });
}

/** The run's end as its output, or as the error saying why there is none. */
function report(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
  const { options } = run;
  const { label } = options;
  // Passed through to our own stderr, the user has just seen it: errors do not repeat it.
  const stderrTail = options.stderr === process.stderr ? '' : formatStderrTail(run.tail);
  const withTail = stderrSuffix(stderrTail);
  if (run.oversized) {
    finish(
      run,
      new AuthError(
        'E_TOKEN_COMMAND',
        `${label} printed more than ${MAX_OUTPUT_BYTES / 1024} KiB on stdout; it was stopped${withTail}`,
        { hint: 'a token command must print only the token (messages go to stderr)' },
      ),
    );
    return;
  }
  if (run.timedOut) {
    finish(
      run,
      new AuthError(
        'E_AUTH_TIMEOUT',
        `${label} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped${withTail}`,
        { hint: 'raise auth.timeout with `gatepass config set --timeout <seconds>`' },
      ),
    );
    return;
  }
  if (options.signal?.aborted) {
    finish(run, new AuthError('E_AUTH_FAILED', `${label} was cancelled`));
    return;
  }
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    finish(
      run,
      new AuthError('E_TOKEN_COMMAND', `${label} ${how}${withTail}`, {
        ...(code === 127 ? { hint: 'the shell could not find the command; check its path' } : {}),
      }),
    );
    return;
  }
  finish(run, undefined, { stdout: Buffer.concat(run.chunks), stderrTail });
}
