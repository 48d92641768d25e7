/**
 * File-system helpers with the safety properties gatepass promises: atomic replacement (temp file in
 * the same directory + fsync + rename), private modes for gatepass' own files (0600) and directories
 * (0700), and mode preservation for other tools' files.
 */
import { promises as fsp } from 'node:fs';
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

/** Read a file as UTF-8, or `undefined` when it does not exist. */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GatepassError('E_IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
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
 * Atomically replace `file` with `data`: readers see either the old or the new content, never a
 * partial file, and a crash leaves the old file in place. Symlinks are followed so a user's
 * symlinked dotfile stays a symlink.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  let target = file;
  try {
    target = await fsp.realpath(file);
  } catch {
    // does not exist yet
  }
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
    await fsp.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw new GatepassError('E_IO', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const dh = await fsp.open(dir, 'r');
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    // directory fsync is best effort (not supported on every platform)
  }
}
