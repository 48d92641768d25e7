/**
 * Run the built `gatepass` CLI in a child process with a private temporary HOME, so tests never see
 * or touch the developer's real configuration, keychain or tools.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The package's bin (dist/cli.js is a shim running it, kept for older launchers). */
export const CLI = path.join(ROOT, 'dist/cli.cjs');

export interface TempHome {
  home: string;
  /**
   * Environment for a child process living in this HOME (XDG and GATEPASS_* variables cleared, but
   * GATEPASS_ALLOW_PLACEHOLDER_HOSTS=1: delete it to see setup refuse placeholder hosts).
   */
  env: NodeJS.ProcessEnv;
  configFile: string;
  cleanup(): void;
}

export function makeTempHome(extraEnv: NodeJS.ProcessEnv = {}): TempHome {
  const home = realpathSync(mkdtempSync(path.join(tmpdir(), 'gatepass-home-')));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(XDG_|GATEPASS_|DBUS_SESSION_BUS_ADDRESS$|BROWSER$|DISPLAY$|WAYLAND_DISPLAY$)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(
    env,
    // Tests wire tools to example.com / .invalid hosts: setup refuses those unless told otherwise.
    {
      HOME: home,
      USERPROFILE: home,
      APPDATA: path.join(home, 'AppData/Roaming'),
      GATEPASS_ALLOW_PLACEHOLDER_HOSTS: '1',
    },
    extraEnv,
  );
  return {
    home,
    env,
    configFile: path.join(home, '.config/gatepass/config.yaml'),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/**
 * GATEPASS_TEST_BINARY=<file>: tests running `gatepass` through runGatepass run that single
 * executable (`npm run build:sea`) instead of `node dist/cli.cjs` (`npm run test:e2e:sea`).
 */
const TEST_BINARY = process.env['GATEPASS_TEST_BINARY'];

/** The single executable under test (GATEPASS_TEST_BINARY, absolute), or undefined for dist/cli.cjs. */
export const GATEPASS_BINARY = TEST_BINARY ? path.resolve(ROOT, TEST_BINARY) : undefined;

/** The program and arguments that run `gatepass <args>`: the binary under test, or node dist/cli.cjs. */
export function gatepassArgv(args: string[]): [string, string[]] {
  return GATEPASS_BINARY ? [GATEPASS_BINARY, args] : [process.execPath, [CLI, ...args]];
}

/** `gatepass` as a POSIX shell command line (single-quoted words), for `script -c` and the like. */
export const GATEPASS_SHELL = (GATEPASS_BINARY ? [GATEPASS_BINARY] : [process.execPath, CLI])
  .map((w) => `'${w.replace(/'/g, `'\\''`)}'`)
  .join(' ');

export function runGatepass(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runProcess(...gatepassArgv(args), options);
}

export function runNode(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, args, options);
}

/** Run a program to completion, collecting its output; stdin gets `input` (or is closed at once). */
export function runProcess(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
