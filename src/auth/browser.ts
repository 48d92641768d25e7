/**
 * Opening the login page in the user's browser.
 *
 * - `GATEPASS_BROWSER` set: a command line, split on whitespace (no shell), run with the URL as its
 *   last argument, detached, stdio ignored. Tests use it to hand the URL to a headless browser;
 *   users can use it to pick a browser or profile.
 * - otherwise the OS opener through `open` (lazily imported), its output kept off stdout.
 *
 * Failure to open is reported to the caller, which prints the URL on stderr and keeps waiting.
 */
import { spawn } from 'node:child_process';
import type { BrowserOpener } from './types.js';

export const BROWSER_ENV = 'GATEPASS_BROWSER';

export function createBrowserOpener(env: NodeJS.ProcessEnv): BrowserOpener {
  const command = env[BROWSER_ENV]?.trim();
  if (command) return (url) => spawnDetached(command.split(/\s+/), url);
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
 * Can a browser plausibly be opened for the user right now? GATEPASS_BROWSER, macOS, Windows, or a
 * Linux/BSD desktop session (DISPLAY / WAYLAND_DISPLAY). SSH sessions without forwarding have none.
 */
export function canOpenBrowser(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (env[BROWSER_ENV]?.trim()) return true;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);
}
