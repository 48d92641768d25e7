/**
 * File-system helpers with the safety properties gatepass promises: atomic replacement (temp file in
 * the same directory + fsync + rename), private modes for gatepass' own files (0600) and directories
 * (0700), and mode preservation for other tools' files.
 */
import { promises as fsp, readFile } from 'node:fs';
import path from 'node:path';
import { GatepassError } from '../errors.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export interface AtomicWriteOptions {
  /** File mode for the new file. `'preserve'` keeps the existing file's mode (0600 when creating). */
  mode?: number | 'preserve';
  /** Create missing parent directories with this mode (default 0700). */
  dirMode?: number;
}

export interface PrivateDirOptions {
  /**
   * Also narrow the mode of the leaf when it already exists (default true). Only for directories
   * that are gatepass' own: a directory the user chose (`--config ./gatepass.yaml` in a project,
   * `GATEPASS_CONFIG=~/work/gatepass.yaml`) keeps its mode — chmod'ing it would lock others out of
   * it (or strip a shared directory of its sticky bit).
   */
  tightenExisting?: boolean;
}

/**
 * Create a directory (and missing parents) with a private mode; tighten the leaf if it already
 * exists and `tightenExisting` (the default) says it is gatepass' own.
 */
export async function ensurePrivateDir(
  dir: string,
  mode = PRIVATE_DIR_MODE,
  options: PrivateDirOptions = {},
): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
  if (process.platform !== 'win32' && options.tightenExisting !== false) {
    const st = await fsp.stat(dir);
    if ((st.mode & 0o777 & ~mode) !== 0 && st.uid === process.getuid?.()) await fsp.chmod(dir, mode);
  }
}

/**
 * Read a file as UTF-8, or `undefined` when it does not exist. With fs.readFile's callback, not
 * fs.promises: the token fast path reads its secrets with this, and fs.promises alone loads a dozen
 * of Node's internal modules on first use.
 */
export function readTextIfExists(file: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    readFile(file, 'utf8', (err, text) => {
      if (!err) resolve(text);
      else if (err.code === 'ENOENT') resolve(undefined);
      else reject(new GatepassError('E_IO', `cannot read ${file}: ${err.message}`, { cause: err }));
    });
  });
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test-only crash hook: with `GATEPASS_TEST_CRASH_AFTER_STEP=N` in the environment the process
 * SIGKILLs itself right after its Nth durable step (a temp file synced, a rename, a removal), so the
 * crash-safety tests can stop `setup` at every point of its run. Never set it outside tests.
 */
const CRASH_AFTER = Number(process.env['GATEPASS_TEST_CRASH_AFTER_STEP'] ?? 0) || 0;
let durableSteps = 0;

export function durableStep(): void {
  if (CRASH_AFTER > 0 && ++durableSteps >= CRASH_AFTER) process.kill(process.pid, 'SIGKILL');
}

/**
 * Where writing `file` lands: symlinks followed (relative ones against their own directory) even
 * when the final target does not exist yet, so a dangling symlinked dotfile gets its target created
 * and stays a symlink. A path that is not a symlink is its own target.
 */
export async function resolveWriteTarget(file: string): Promise<string> {
  let cur = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = await fsp.readlink(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'UNKNOWN') {
        // Not a symlink (or not there): resolve the directory part, which may itself be a link.
        try {
          return path.join(await fsp.realpath(path.dirname(cur)), path.basename(cur));
        } catch {
          return cur;
        }
      }
      throw new GatepassError('E_IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    // Relative to the directory the link really is in (`..` after a symlinked directory, too).
    const dir = await fsp.realpath(path.dirname(cur)).catch(() => path.dirname(cur));
    cur = path.resolve(dir, link);
  }
  throw new GatepassError('E_IO', `cannot write ${file}: too many levels of symbolic links`);
}

/** The name pattern of writeFileAtomic's temp files (`.<name>.<pid>.<12 hex>.tmp`). */
const TEMP_RE = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Remove temp files writeFileAtomic left in `dir` when its process died (kill -9, power loss): those
 * whose writer pid is gone. Best effort; returns the paths removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const p = path.join(dir, name);
    try {
      if ((await fsp.lstat(p)).isFile()) {
        await fsp.rm(p, { force: true });
        removed.push(p);
      }
    } catch {
      // gone meanwhile
    }
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename or removal in it is durable (best effort: not every platform can). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await fsp.open(dir, 'r');
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    // directory fsync is best effort (not supported on every platform)
  }
}

/**
 * Atomically replace `file` with `data`: readers see either the old or the new content, never a
 * partial file, and a crash leaves the old file in place. Symlinks are followed (also dangling
 * ones, whose target is created) and the temp file sits next to the target, so a user's symlinked
 * dotfile stays a symlink.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const target = await resolveWriteTarget(file);
  const dir = path.dirname(target);
  await fsp.mkdir(dir, { recursive: true, mode: options.dirMode ?? PRIVATE_DIR_MODE });
  let mode = PRIVATE_FILE_MODE;
  if (options.mode === 'preserve') {
    try {
      mode = (await fsp.stat(target)).mode & 0o7777;
    } catch {
      mode = PRIVATE_FILE_MODE;
    }
  } else if (typeof options.mode === 'number') {
    mode = options.mode;
  }
  // Imported here, not at the top: readers (the token fast path) never pay for node:crypto.
  const { randomBytes } = await import('node:crypto');
  const tmp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', mode);
    await handle.writeFile(data);
    await handle.chmod(mode); // umask may have narrowed or (never) widened it
    await handle.sync();
    await handle.close();
    handle = undefined;
    durableStep();
    await fsp.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw new GatepassError('E_IO', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  await syncDir(dir);
  durableStep();
}

/** Remove a file durably (no error when it is already gone). */
export async function removeFileDurable(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
  await syncDir(path.dirname(file));
  durableStep();
}
