/**
 * The write side of chunked secrets (the layout and its crash-safety argument: chunked.ts). Loaded
 * only when a secret is written or deleted, so the token fast path's bundle stays small.
 */
import { randomBytes } from 'node:crypto';
import {
  CHUNK_INDEX_PREFIX,
  type ChunkBackend,
  type ChunkIndex,
  chunkKey,
  digestOf,
  parseIndex,
} from './chunk-layout.js';

/** Split on code units, never inside a surrogate pair (each chunk stays valid UTF-16). */
function split(value: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; ) {
    let end = Math.min(i + size, value.length);
    const last = value.charCodeAt(end - 1);
    if (end < value.length && end - i > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(value.slice(i, end));
    i = end;
  }
  return out;
}

async function deleteChunks(
  backend: ChunkBackend,
  key: string,
  index: ChunkIndex | undefined,
): Promise<void> {
  if (!index) return;
  for (let i = 0; i < index.count; i++) {
    // Best effort: a leftover chunk is unreferenced and harmless.
    await backend.delete(chunkKey(key, index.gen, i)).catch(() => false);
  }
}

/** Store `value` under `key`: chunks of a new generation first, then the index, then old chunks go. */
export async function writeChunked(
  backend: ChunkBackend,
  key: string,
  value: string,
  chunkSize: number,
): Promise<void> {
  const previous = parseIndex(await backend.get(key));
  // A value that merely looks like an index is chunked too, so reads are never ambiguous.
  if (value.length <= chunkSize && !value.startsWith(CHUNK_INDEX_PREFIX)) {
    await backend.set(key, value);
  } else {
    const gen = randomBytes(8).toString('hex');
    const parts = split(value, Math.max(1, Math.min(chunkSize, value.length)));
    for (const [i, part] of parts.entries()) await backend.set(chunkKey(key, gen, i), part);
    await backend.set(key, `${CHUNK_INDEX_PREFIX}${gen}:${parts.length}:${digestOf(value)}`);
  }
  await deleteChunks(backend, key, previous);
}

/** Remove `key`: the index (or plain entry) first, so no index ever points at missing chunks. */
export async function deleteChunked(backend: ChunkBackend, key: string): Promise<boolean> {
  const index = parseIndex(await backend.get(key));
  const deleted = await backend.delete(key);
  await deleteChunks(backend, key, index);
  return deleted;
}
