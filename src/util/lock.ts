/**
 * Cross-process locking on top of proper-lockfile: a `<file>.lock` directory, refreshed while held,
 * considered stale (and broken) when its holder stopped refreshing it — so a `kill -9` of a holder
 * never wedges the next process for longer than the stale period.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GatepassError } from '../errors.js';

export interface LockOptions {
  /** Milliseconds after which an un-refreshed lock is considered abandoned. Default 10 s. */
  staleMs?: number;
  /** Give up waiting after this many milliseconds. Default 60 s. */
  waitMs?: number;
}

export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const stale = options.staleMs ?? 10_000;
  const waitMs = options.waitMs ?? 60_000;
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await lockfile.lock(file, {
        realpath: false,
        stale,
        update: Math.max(1000, Math.floor(stale / 2)),
        lockfilePath: `${file}.lock`,
        onCompromised: () => {
          // The lock was taken over (we stalled past `stale`); the work in progress still finishes.
        },
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new GatepassError('E_IO', `cannot lock ${file}: ${(err as Error).message}`, { cause: err });
      }
      if (Date.now() - started > waitMs) {
        throw new GatepassError(
          'E_IO',
          `timed out after ${Math.round(waitMs / 1000)} s waiting for the lock on ${file}`,
          {
            cause: err,
            hint: `another gatepass process holds it; if none is running, remove ${file}.lock`,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
