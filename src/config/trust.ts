/**
 * Whether a config file may be trusted, as ssh decides for its own config: a config names commands
 * gatepass runs as you (token_command, refresh_command), so a file someone else can write is a way
 * to run code as you. Refused (POSIX only):
 * - a file, or any directory on its real path, owned by another user than you or root;
 * - a file that is group- or world-writable;
 * - a directory that is group- or world-writable, unless it has the sticky bit (like /tmp): there
 *   nobody can rename or delete an entry they do not own, and the owner of the next entry is
 *   checked in turn, so a file of yours with a safe mode in /tmp cannot be swapped by another user.
 * Root-owned, not group/world-writable files and directories (managed configs) are fine. Windows:
 * no check (ACLs, not modes).
 *
 * The token fast path runs the same walk (a few stats, synchronous) plus one fstat of the snapshot
 * it reads (`statsTrusted`), and leaves any refusal to the full path, which prints it.
 */
import type { Stats } from 'node:fs';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';

const STICKY = 0o1000;

/** `name (uid N)` from the user database when it has the account, else `uid N` (error path only). */
function userName(uid: number): string {
  try {
    const me = os.userInfo();
    if (me.uid === uid) return `${me.username} (uid ${uid})`;
  } catch {
    // no passwd entry for us
  }
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return `${name} (uid ${uid})`;
    }
  } catch {
    // no readable /etc/passwd (or not Linux-like)
  }
  return `uid ${uid}`;
}

/** Why `st` (of `what`) is not trusted, or undefined when it is. */
export function untrustedReason(
  st: Pick<Stats, 'uid' | 'mode' | 'isDirectory'>,
  uid: number,
): string | undefined {
  if (st.uid !== uid && st.uid !== 0) return `owned by ${userName(st.uid)}`;
  const writableByOthers = (st.mode & 0o022) !== 0;
  if (writableByOthers && !(st.isDirectory() && st.mode & STICKY)) {
    return `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  }
  return undefined;
}

/** The cheap check for the token fast path: both stats trusted (true on Windows). */
export function statsTrusted(...stats: Array<Pick<Stats, 'uid' | 'mode' | 'isDirectory'>>): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return true;
  return stats.every((st) => untrustedReason(st, uid) === undefined);
}

function fixHint(target: string, reason: string, isDir: boolean): string {
  if (reason.startsWith('owned by')) {
    return `if this ${isDir ? 'directory' : 'file'} is really yours: \`sudo chown "$(id -un)" ${target}\`; otherwise do not use a config someone else controls: copy what you need into your own ~/.config/gatepass/config.yaml`;
  }
  return `\`chmod go-w ${target}\``;
}

interface Finding {
  target: string;
  isDir: boolean;
  reason: string;
}

/**
 * The first thing on `file`'s real path (the file, then each directory up to /) someone else could
 * write, or undefined. A missing file: its directory and up. Synchronous, a handful of stats: the
 * token fast path runs it too.
 */
export function findUntrusted(file: string): Finding | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  let target: string;
  let isDir = false;
  try {
    target = realpathSync(file);
  } catch {
    try {
      target = realpathSync(path.dirname(file));
      isDir = true;
    } catch {
      return undefined; // nothing there yet: whoever creates it makes it ours
    }
  }
  for (;;) {
    const reason = untrustedReason(statSync(target), uid);
    if (reason) return { target, isDir, reason };
    const parent = path.dirname(target);
    if (parent === target) return undefined;
    target = parent;
    isDir = true;
  }
}

/**
 * Throw a ConfigError when `file` or a directory on its real path could be written by someone else
 * (a missing file: its directory and up). Call before reading or writing the file.
 */
export async function assertTrustedConfig(file: string): Promise<void> {
  const found = findUntrusted(file);
  if (!found) return;
  const { target, isDir, reason } = found;
  const which = isDir ? `the directory ${target} of the config file ${file}` : `the config file ${file}`;
  throw new ConfigError(
    'E_CONFIG_INVALID',
    `refusing to use ${which}: it is ${reason}, so someone else could make gatepass run commands as you`,
    { exitCode: 1, hint: fixHint(target, reason, isDir) },
  );
}
