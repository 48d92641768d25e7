/** Per-platform locations, all derived from the injected home dir and environment. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ToolEnv } from './types.js';

function join(env: ToolEnv, ...parts: string[]): string {
  // A Windows layout rooted in a POSIX directory only happens when tests run the Windows layout on
  // Linux/macOS: keep POSIX separators there so the files land inside the temporary HOME.
  const posixRoot = parts[0]?.startsWith('/') ?? false;
  return env.platform === 'win32' && !posixRoot ? path.win32.join(...parts) : path.posix.join(...parts);
}

export function pathJoin(env: ToolEnv, ...parts: string[]): string {
  return join(env, ...parts);
}

/** The editors' per-user config root: ~/.config, ~/Library/Application Support or %APPDATA%. */
export function appConfigDir(env: ToolEnv): string {
  if (env.platform === 'darwin') return join(env, env.home, 'Library', 'Application Support');
  if (env.platform === 'win32') return env.env['APPDATA'] || join(env, env.home, 'AppData', 'Roaming');
  return env.env['XDG_CONFIG_HOME'] || join(env, env.home, '.config');
}

/** XDG-style config dir on every platform (tools built on xdg-basedir use ~/.config on macOS too). */
export function xdgConfigDir(env: ToolEnv): string {
  return env.env['XDG_CONFIG_HOME'] || join(env, env.home, '.config');
}

export async function dirExists(dir: string): Promise<boolean> {
  try {
    return (await fsp.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Is `name` an executable on PATH (PATHEXT on Windows)? */
export async function onPath(env: ToolEnv, name: string): Promise<boolean> {
  const sep = env.platform === 'win32' ? ';' : ':';
  const dirs = (env.env['PATH'] ?? env.env['Path'] ?? '').split(sep).filter(Boolean);
  const exts =
    env.platform === 'win32' ? (env.env['PATHEXT'] ?? '.EXE;.CMD;.BAT;.PS1').split(';').concat(['']) : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      try {
        const st = await fsp.stat(join(env, dir, name + ext.toLowerCase()));
        if (st.isFile()) return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}
