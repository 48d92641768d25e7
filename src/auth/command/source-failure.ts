/**
 * A command provider's `.failed` memo next to its cache file: when the last token_command run failed
 * and its (already redacted) message, so the processes that waited on the lock share the failure
 * instead of running the command (and maybe prompting the user) once more each.
 */
import { promises as fsp } from 'node:fs';
import { describeError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';

/** `<cache>.failed`: when the last token_command run failed, and its (already redacted) message. */
export async function readFailure(file: string): Promise<{ at: number; message: string } | undefined> {
  try {
    const o = JSON.parse(await fsp.readFile(file, 'utf8')) as { at?: unknown; message?: unknown };
    return typeof o.at === 'number' && typeof o.message === 'string'
      ? { at: o.at, message: o.message }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function writeFailure(file: string, err: unknown): Promise<void> {
  const message = describeError(err).split('\n')[0]!;
  await writeFileAtomic(file, JSON.stringify({ at: Date.now(), message }), { mode: 0o600 }).catch(() => {});
}
