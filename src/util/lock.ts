/**
 * Cross-process locking on top of proper-lockfile: a `<file>.lock` directory, refreshed while held,
 * considered stale (and broken) when its holder stopped refreshing it — so a `kill -9` of a holder
 * never wedges the next process for longer than the stale period.
 *
 * Faster still on one host: the holder records `{pid, host, nonce}` in `<file>.lock/owner`. A waiter
 * that finds the owner's pid gone on this very host takes the lock over at once instead of waiting
 * for the stale period: it renames the lock directory aside (only one waiter can), checks that the
 * owner inside is still the dead one (else puts the directory back), and removes it. A lock without
 * an owner record (being set up, or written by an older gatepass), a live pid, or another host's
 * owner is left to the stale period. A recycled pid only means the slow path.
 */
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatepassError } from '../errors.js';

export interface LockOptions {
  /** Milliseconds after which an un-refreshed lock is considered abandoned. Default 10 s. */
  staleMs?: number;
  /** Give up waiting after this many milliseconds. Default 60 s. */
  waitMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  nonce: string;
}

const OWNER_FILE = 'owner';

// Not node:crypto: loading it costs the token fast path (which imports this module) ~9 ms. The
// nonce only tells two owner records apart, it guards nothing.
const nonce = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;

/**
 * proper-lockfile removes its lock directory with rmdir; ours may hold the owner record. Made when a
 * lock is taken, not at import: spreading node:fs reads its `promises` getter, which loads a dozen
 * of Node's internal modules — a cost the token fast path (which imports this module) would pay.
 */
const lockFs = () => ({
  ...fs,
  rmdir: (p: string, cb: (err: NodeJS.ErrnoException | null) => void) => fs.rm(p, { recursive: true }, cb),
  rmdirSync: (p: string) => fs.rmSync(p, { recursive: true }),
});

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await fsp.readFile(path.join(lockDir, OWNER_FILE), 'utf8')) as Owner;
    return Number.isSafeInteger(o.pid) &&
      o.pid > 0 &&
      typeof o.host === 'string' &&
      typeof o.nonce === 'string'
      ? o
      : undefined;
  } catch {
    return undefined; // none yet (being set up), or half written
  }
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Take over `lockDir` when its recorded owner is a process of this host that no longer exists. */
async function breakDeadOwner(lockDir: string): Promise<boolean> {
  const owner = await readOwner(lockDir);
  if (!owner || owner.host !== os.hostname() || owner.pid === process.pid || !pidGone(owner.pid)) {
    return false;
  }
  const aside = `${lockDir}.dead-${process.pid}-${nonce()}`;
  try {
    await fsp.rename(lockDir, aside);
  } catch {
    return false; // another waiter was faster, or the owner released it meanwhile
  }
  const moved = await readOwner(aside);
  if (moved?.nonce !== owner.nonce) {
    // The directory changed hands between our read and the rename: give it back.
    await fsp.rename(aside, lockDir).catch(() => {});
    return false;
  }
  await fsp.rm(aside, { recursive: true, force: true }).catch(() => {});
  return true;
}

/**
 * Write our owner record into the lock directory we just took. That changes the directory's mtime,
 * which proper-lockfile reads as its heartbeat (a foreign mtime at the next refresh means "taken
 * over": it would stop refreshing and never remove the lock), so the mtime it set is put back.
 */
async function recordOwner(lockDir: string): Promise<void> {
  try {
    const before = await fsp.stat(lockDir);
    const owner: Owner = { pid: process.pid, host: os.hostname(), nonce: nonce() };
    await fsp.writeFile(path.join(lockDir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
    await fsp.utimes(lockDir, before.atime, before.mtime);
  } catch {
    // without the record, waiters fall back to the stale period
  }
}

export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const stale = options.staleMs ?? 10_000;
  const waitMs = options.waitMs ?? 60_000;
  const lockDir = `${file}.lock`;
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await lockfile.lock(file, {
        realpath: false,
        stale,
        update: Math.max(1000, Math.floor(stale / 2)),
        lockfilePath: lockDir,
        fs: lockFs(),
        onCompromised: () => {
          // The lock was taken over (we stalled past `stale`); the work in progress still finishes.
        },
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new GatepassError('E_IO', `cannot lock ${file}: ${(err as Error).message}`, { cause: err });
      }
      if (await breakDeadOwner(lockDir)) continue;
      if (Date.now() - started > waitMs) {
        throw new GatepassError(
          'E_IO',
          `timed out after ${Math.round(waitMs / 1000)} s waiting for the lock on ${file}`,
          {
            cause: err,
            hint: `another gatepass process holds it; if none is running, remove ${lockDir}`,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
  }
  await recordOwner(lockDir);
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
