/**
 * Long secrets split into numbered chunks over a size-limited backend: Windows Credential Manager
 * rejects credential blobs over 2560 bytes (1280 UTF-16 code units, as the keyring stores them), and
 * large Entra tokens exceed that. Callers see one logical key; the backend sees:
 *
 * - `<key>` = the value itself when it fits, or an index entry `gatepass-chunks:v1:<gen>:<n>:<sha256>`;
 * - `<key>.chunk.<gen>.<i>` (i = 0..n-1) = the pieces, written under a fresh random generation.
 *
 * Crash safety: `set` writes every chunk of the new generation first and the index last, then
 * removes the previous generation's chunks; a crash before the index write leaves the old value
 * intact, a crash after it leaves only unreferenced chunks. A read whose chunks are missing or do
 * not hash to the index's digest yields "no secret" (a new login), never a wrong token.
 */
import { CHUNK_INDEX_PREFIX, type ChunkBackend, chunkKey, digestOf, parseIndex } from './chunk-layout.js';

// The layout is read by the tests (and was exported from here before it had a module of its own).
export * from './chunk-layout.js';

/** The logical value of `key`: a plain entry, or its chunks assembled and checked against the index. */
export async function readChunked(backend: ChunkBackend, key: string): Promise<string | undefined> {
  const raw = await backend.get(key);
  if (raw === undefined || !raw.startsWith(CHUNK_INDEX_PREFIX)) return raw;
  const index = parseIndex(raw);
  if (!index) return undefined;
  const parts: string[] = [];
  for (let i = 0; i < index.count; i++) {
    const part = await backend.get(chunkKey(key, index.gen, i));
    if (part === undefined) return undefined;
    parts.push(part);
  }
  const value = parts.join('');
  return digestOf(value) === index.digest ? value : undefined;
}

/**
 * Wrap `backend` so values longer than `chunkSize` UTF-16 code units are stored in chunks. With
 * `chunkSize` = Infinity nothing new is chunked, but chunked entries are still read and removed.
 * The write side (chunk-write.ts) is loaded on first write: the token fast path only reads.
 */
export function withChunking(backend: ChunkBackend, chunkSize: number): ChunkBackend {
  return {
    get: (key) => readChunked(backend, key),
    set: async (key, value) =>
      (await import('./chunk-write.js')).writeChunked(backend, key, value, chunkSize),
    delete: async (key) => (await import('./chunk-write.js')).deleteChunked(backend, key),
  };
}

/**
 * The chunk size for the OS keychain: 1200 code units on Windows (below Credential Manager's 1280,
 * leaving room for nothing else to matter); elsewhere no chunking (macOS Keychain and the Secret
 * Service take far larger values). `GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE` overrides it — for tests only,
 * so the chunked layout can be exercised against a real Secret Service on Linux.
 */
export function keychainChunkSize(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): number {
  const test = Number(env.GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE);
  if (Number.isInteger(test) && test > 0) return test;
  return platform === 'win32' ? 1200 : Number.POSITIVE_INFINITY;
}
