/** Chunked secrets over a size-limited backend (Windows Credential Manager's limit), in memory. */
import { describe, expect, it } from 'vitest';
import {
  CHUNK_INDEX_PREFIX,
  type ChunkBackend,
  keychainChunkSize,
  withChunking,
} from '../../src/secrets/chunked.js';

/** A backend that, like Credential Manager, rejects entries over `limit`; it can fail on demand. */
function limitedBackend(limit: number) {
  const map = new Map<string, string>();
  let failAfterWrites = Number.POSITIVE_INFINITY;
  const backend: ChunkBackend = {
    async get(key) {
      return map.get(key);
    },
    async set(key, value) {
      if (value.length > limit) throw new Error(`entry too large (${value.length} > ${limit})`);
      if (failAfterWrites-- <= 0) throw new Error('crash');
      map.set(key, value);
    },
    async delete(key) {
      return map.delete(key);
    },
  };
  return {
    backend,
    map,
    crashAfter(writes: number) {
      failAfterWrites = writes;
    },
  };
}

const LONG = 'eyJ' + 'a'.repeat(1000) + 'b'.repeat(1000) + 'c'.repeat(777);

describe('withChunking', () => {
  it('stores a long value in chunks within the limit and reads it back under the logical key', async () => {
    const { backend, map } = limitedBackend(300);
    await expect(backend.set('K', LONG)).rejects.toThrow(/too large/);
    const store = withChunking(backend, 300);
    await store.set('K', LONG);
    expect(await store.get('K')).toBe(LONG);
    expect(map.get('K')!.startsWith(CHUNK_INDEX_PREFIX)).toBe(true);
    expect(map.get('K')!.length).toBeLessThan(120);
    const chunks = [...map.keys()].filter((k) => k.startsWith('K.chunk.'));
    expect(chunks).toHaveLength(Math.ceil(LONG.length / 300));
    // Short values stay plain entries.
    await store.set('S', 'short');
    expect(map.get('S')).toBe('short');
    expect(await store.get('S')).toBe('short');
  });

  it('delete removes the index and every chunk', async () => {
    const { backend, map } = limitedBackend(300);
    const store = withChunking(backend, 300);
    await store.set('K', LONG);
    await store.set('OTHER', 'x');
    expect(await store.delete('K')).toBe(true);
    expect([...map.keys()]).toEqual(['OTHER']);
    expect(await store.get('K')).toBeUndefined();
    expect(await store.delete('K')).toBe(false);
  });

  it('rewriting removes the previous generation; shrinking to a plain value removes all chunks', async () => {
    const { backend, map } = limitedBackend(300);
    const store = withChunking(backend, 300);
    await store.set('K', LONG);
    const shorter = 'z'.repeat(700);
    await store.set('K', shorter);
    expect(await store.get('K')).toBe(shorter);
    expect([...map.keys()].filter((k) => k.startsWith('K.chunk.'))).toHaveLength(3);
    await store.set('K', 'tiny');
    expect([...map.keys()]).toEqual(['K']);
    expect(await store.get('K')).toBe('tiny');
  });

  it('a crash in the middle of writing chunks leaves the previous value readable', async () => {
    const fake = limitedBackend(300);
    const store = withChunking(fake.backend, 300);
    await store.set('K', LONG);
    fake.crashAfter(4); // four of the new chunks land, then the process "dies"
    await expect(store.set('K', 'n'.repeat(2000))).rejects.toThrow('crash');
    fake.crashAfter(Number.POSITIVE_INFINITY);
    expect(await store.get('K')).toBe(LONG);
  });

  it('a missing or altered chunk reads as no secret, never as a wrong value', async () => {
    const { backend, map } = limitedBackend(300);
    const store = withChunking(backend, 300);
    await store.set('K', LONG);
    const first = [...map.keys()].find((k) => k.endsWith('.0'))!;
    map.set(first, 'X'.repeat(300));
    expect(await store.get('K')).toBeUndefined();
    map.delete(first);
    expect(await store.get('K')).toBeUndefined();
  });

  it('a value that looks like an index is stored chunked, so it reads back unchanged', async () => {
    const { backend } = limitedBackend(300);
    const store = withChunking(backend, 300);
    const tricky = `${CHUNK_INDEX_PREFIX}0123456789abcdef:1:${'A'.repeat(43)}`;
    await store.set('K', tricky);
    expect(await store.get('K')).toBe(tricky);
  });

  it('never splits a surrogate pair', async () => {
    const { backend, map } = limitedBackend(100);
    const store = withChunking(backend, 5);
    const emoji = 'ab' + '😀'.repeat(10) + 'c';
    await store.set('K', emoji);
    expect(await store.get('K')).toBe(emoji);
    for (const [k, v] of map)
      if (k.includes('.chunk.')) expect(v).not.toMatch(/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
  });

  it('chunks only on Windows by default; the test hook overrides the size', () => {
    expect(keychainChunkSize({}, 'win32')).toBe(1200);
    expect(keychainChunkSize({}, 'linux')).toBe(Number.POSITIVE_INFINITY);
    expect(keychainChunkSize({}, 'darwin')).toBe(Number.POSITIVE_INFINITY);
    expect(keychainChunkSize({ GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE: '64' }, 'linux')).toBe(64);
    expect(keychainChunkSize({ GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE: 'x' }, 'win32')).toBe(1200);
  });
});
