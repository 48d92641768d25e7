/**
 * Opening the login page in the user's browser.
 *
 * - `GATEPASS_BROWSER` set: a command line, split on whitespace (no shell), run with the URL as its
 *   last argument, detached, stdio ignored. Tests use it to hand the URL to a headless browser;
 *   users can use it to pick a browser or profile.
 * - under WSL (WSL_DISTRO_NAME, or "microsoft" in /proc/sys/kernel/osrelease): the Windows browser,
 *   through `wslview` (wslu), else `cmd.exe /c start "" URL` (the URL's cmd metacharacters escaped
 *   with ^, so `&` between query parameters does not end the command), else `explorer.exe URL`;
 * - otherwise the OS opener through `open` (lazily imported), its output kept off stdout.
 *
 * Failure to open is reported to the caller, which prints the URL on stderr and keeps waiting.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BrowserOpener } from './types.js';

export const BROWSER_ENV = 'GATEPASS_BROWSER';

export interface OpenerPlatform {
  platform?: NodeJS.Platform;
  /** Contents of /proc/sys/kernel/osrelease (injected by tests). */
  readOsRelease?: () => string;
}

/** Is this Linux running under WSL (where the user's browser is a Windows program)? */
export function isWsl(env: NodeJS.ProcessEnv, options: OpenerPlatform = {}): boolean {
  if ((options.platform ?? process.platform) !== 'linux') return false;
  if (env['WSL_DISTRO_NAME']) return true;
  try {
    const read = options.readOsRelease ?? (() => readFileSync('/proc/sys/kernel/osrelease', 'utf8'));
    return /microsoft|wsl/i.test(read());
  } catch {
    return false;
  }
}

/** `url` for cmd.exe's command line: its metacharacters escaped with ^ (cmd removes the carets). */
export function cmdEscape(url: string): string {
  return url.replace(/[&|<>^()]/g, '^$&');
}

export function createBrowserOpener(env: NodeJS.ProcessEnv, options: OpenerPlatform = {}): BrowserOpener {
  const command = env[BROWSER_ENV]?.trim();
  if (command) return (url) => spawnDetached(command.split(/\s+/), url);
  if (isWsl(env, options)) return (url) => openFromWsl(env, url);
  return async (url) => {
    // Without a graphical session xdg-open would fall back to a text browser in the background:
    // report failure instead, so the caller prints the URL for the user.
    if (!canOpenBrowser(env)) throw new Error('no graphical session (DISPLAY/WAYLAND_DISPLAY unset)');
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      // xdg-open & co. exit quickly; a non-zero exit means no browser could be started.
      child.once('exit', (code) =>
        code && code !== 0 ? reject(new Error(`opener exited with ${code}`)) : resolve(),
      );
      setTimeout(resolve, 2000).unref();
    });
  };
}

/**
 * The Windows browser from WSL: the first of wslview, cmd.exe, explorer.exe that can be run (a
 * missing one is skipped; wslview and cmd.exe failing too). explorer.exe exits 1 even when it
 * opened the page, so only its start counts.
 */
async function openFromWsl(env: NodeJS.ProcessEnv, url: string): Promise<void> {
  const candidates: [string, string[], boolean][] = [
    ['wslview', [url], true],
    // An empty first argument is start's window title (WSL passes it to Windows as "").
    ['cmd.exe', ['/c', 'start', '', cmdEscape(url)], true],
    ['explorer.exe', [url], false],
  ];
  const failures: string[] = [];
  for (const [file, args, checkExit] of candidates) {
    try {
      await runOpener(file, args, env, checkExit);
      return;
    } catch (err) {
      failures.push(`${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no Windows browser could be started from WSL (${failures.join('; ')})`);
}

function runOpener(file: string, args: string[], env: NodeJS.ProcessEnv, checkExit: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      if (!checkExit) resolve();
    });
    child.once('exit', (code) => (code ? reject(new Error(`exited with ${code}`)) : resolve()));
    // Openers return at once; one still running after 2 s has handed the URL on.
    setTimeout(resolve, 2000).unref();
  });
}

function spawnDetached(argv: string[], url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, [...argv.slice(1), url], { detached: true, stdio: 'ignore' });
    child.once('error', (err: NodeJS.ErrnoException) => {
      // Say why, naming the variable: the user set it and must fix it there.
      const why =
        err.code === 'ENOENT'
          ? 'not found'
          : err.code === 'EACCES'
            ? 'permission denied (not executable?)'
            : err.message;
      const name = argv[0]!.replace(/[\u0000-\u001f\u007f]/g, '?');
      reject(
        new Error(`${BROWSER_ENV} command "${name}" cannot be run: ${err.code ? `${err.code}, ` : ''}${why}`),
      );
    });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/**
 * Can a browser plausibly be opened for the user right now? GATEPASS_BROWSER, macOS, Windows, WSL, or a
 * Linux/BSD desktop session (DISPLAY / WAYLAND_DISPLAY). SSH sessions without forwarding have none.
 */
export function canOpenBrowser(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (env[BROWSER_ENV]?.trim()) return true;
  if (platform === 'darwin' || platform === 'win32') return true;
  if (isWsl(env, { platform })) return true;
  return Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);
}
