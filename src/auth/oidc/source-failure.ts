/**
 * The OIDC token source's `.failed` memo next to its lock file: a process that could not reach the
 * IdP records it, so the processes queued behind it on the lock fail the same way at once instead of
 * each waiting out its own timeout.
 */
// fs.promises, not node:fs/promises: importing the latter loads Node's streams at start-up.
import { promises as fsp } from 'node:fs';
import type { AuthError } from '../../errors.js';

export interface FailureMemo {
  at: number;
  code: 'E_AUTH_UNAVAILABLE' | 'E_AUTH_TIMEOUT';
  message: string;
  hint?: string;
}

/** A failure recorded at or after `since` (when the caller started waiting for the lock). */
export async function readFailure(file: string, since: number): Promise<FailureMemo | undefined> {
  try {
    const memo = JSON.parse(await fsp.readFile(file, 'utf8')) as FailureMemo;
    return typeof memo.at === 'number' && memo.at >= since ? memo : undefined;
  } catch {
    return undefined;
  }
}

export async function writeFailure(file: string, now: number, err: AuthError): Promise<void> {
  const memo: FailureMemo = {
    at: now,
    code: err.code as FailureMemo['code'],
    message: err.message,
    ...(err.hint ? { hint: err.hint } : {}),
  };
  await fsp.writeFile(file, JSON.stringify(memo), { mode: 0o600 }).catch(() => {});
}
