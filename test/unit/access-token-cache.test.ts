/** The default store's access-token cache wrapper (src/secrets/token-cache.ts) over a memory store. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/secrets/memory.js';
import { accessTokenCacheDir, withAccessTokenCache } from '../../src/secrets/token-cache.js';

let cacheDir: string;
beforeEach(() => {
  cacheDir = mkdtempSync(path.join(tmpdir(), 'gatepass-atc-'));
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('access-token cache', () => {
  it('keeps _AT keys in 0600 files (0700 dir), every other key in the wrapped store', async () => {
    const inner = createMemoryStore();
    const store = withAccessTokenCache(inner, { cacheDir });
    await store.set('LLM_OAUTH_12345678', 'rt');
    await store.set('LLM_OAUTH_12345678_AT', '{"access_token":"at"}');
    expect(await inner.get('LLM_OAUTH_12345678')).toBe('rt');
    expect(await inner.get('LLM_OAUTH_12345678_AT')).toBeUndefined();
    const file = path.join(accessTokenCacheDir({ cacheDir }), 'LLM_OAUTH_12345678_AT');
    expect(readFileSync(file, 'utf8')).toBe('{"access_token":"at"}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(await store.get('LLM_OAUTH_12345678_AT')).toBe('{"access_token":"at"}');
    expect(await store.delete('LLM_OAUTH_12345678_AT')).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(await store.get('LLM_OAUTH_12345678')).toBe('rt');
  });

  it('reads an entry an older version left in the wrapped store through; moves it unless read-only', async () => {
    const inner = createMemoryStore();
    await inner.set('K_AT', 'old');
    expect(await withAccessTokenCache(inner, { cacheDir }, { readOnly: true }).get('K_AT')).toBe('old');
    expect(await inner.get('K_AT')).toBe('old');
    const store = withAccessTokenCache(inner, { cacheDir });
    expect(await store.get('K_AT')).toBe('old');
    expect(await inner.get('K_AT')).toBeUndefined();
    expect(readFileSync(path.join(accessTokenCacheDir({ cacheDir }), 'K_AT'), 'utf8')).toBe('old');
    // A delete removes a leftover in the wrapped store as well as the file.
    await inner.set('K_AT', 'leftover');
    expect(await store.delete('K_AT')).toBe(true);
    expect(await inner.get('K_AT')).toBeUndefined();
    expect(await store.get('K_AT')).toBeUndefined();
  });
});
