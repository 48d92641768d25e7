/**
 * The file store: the fallback when no OS keychain is available (headless Linux, WSL, containers).
 * One file per secret in a private directory (0700), each file 0600 and replaced atomically, so
 * concurrent gatepass processes never see a half-written secret and never lose each other's keys.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SecretStoreError } from '../errors.js';
import { ensurePrivateDir, readTextIfExists, writeFileAtomic } from '../util/fs.js';
import type { SecretStore } from './types.js';

const KEY_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

function fileFor(dir: string, key: string): string {
  if (!KEY_PATTERN.test(key) || key.startsWith('.')) {
    throw new SecretStoreError(`invalid secret key "${key}"`);
  }
  return path.join(dir, key);
}

export function createFileStore(dir: string): SecretStore {
  return {
    kind: 'file',
    description: `private files in ${dir}`,
    async get(key) {
      const text = await readTextIfExists(fileFor(dir, key));
      return text === undefined || text === '' ? undefined : text;
    },
    async set(key, value) {
      const file = fileFor(dir, key);
      await ensurePrivateDir(dir);
      await writeFileAtomic(file, value, { mode: 0o600 });
    },
    async delete(key) {
      try {
        await fsp.unlink(fileFor(dir, key));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new SecretStoreError(`cannot delete secret "${key}": ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}
