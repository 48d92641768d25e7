import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createTokenCache } from '../../src/proxy/token-cache.js';
import { authRequired, TestTokenSource } from '../helpers/tokens.js';

const make = (source: TestTokenSource, now = Date.now) =>
  createTokenCache({ source, logger: silentLogger, interactive: true, backgroundRefresh: false, now });

describe('token cache', () => {
  it('reuses a valid token and shares one in-flight fetch', async () => {
    const source = new TestTokenSource({ expiresInMs: 3_600_000, delayMs: 20 });
    const cache = make(source);
    const all = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(new Set(all.map((r) => r.token)).size).toBe(1);
    await cache.get();
    expect(source.calls).toBe(1);
    cache.close();
  });

  it('asks again when the token is within the refresh skew of expiry', async () => {
    let t = 1_000_000;
    const source = new TestTokenSource({ expiresInMs: 120_000 });
    const cache = make(source, () => t);
    await cache.get();
    t = Date.now() + 61_000; // less than 60 s left
    await cache.get();
    expect(source.calls).toBe(2);
    cache.close();
  });

  it('does not cache failures', async () => {
    const source = new TestTokenSource({ fail: authRequired() });
    const cache = make(source);
    await expect(cache.get()).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
    source.options.fail = undefined;
    expect((await cache.get()).token).toBe('test-token-2');
    cache.close();
  });

  it('replace() invalidates once and shares the forced refresh among callers', async () => {
    const source = new TestTokenSource({ expiresInMs: 3_600_000, delayMs: 10 });
    const cache = make(source);
    const { token } = await cache.get();
    const replaced = await Promise.all([cache.replace(token), cache.replace(token), cache.replace(token)]);
    expect(new Set(replaced.map((r) => r.token))).toEqual(new Set(['test-token-2']));
    expect(source.calls).toBe(2);
    expect(source.requests[1]).toMatchObject({ forceRefresh: true });
    // Replacing an old token after the swap returns the current one without another fetch.
    expect((await cache.replace(token)).token).toBe('test-token-2');
    expect(source.calls).toBe(2);
    cache.close();
  });
});

describe('background refresh keeps 10 minutes (TTL invariant)', () => {
  it('refreshes when 10 min remain, asking for more than 10 min of validity', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    try {
      const source = new TestTokenSource({ expiresInMs: 60 * 60_000 });
      const cache = createTokenCache({ source, logger: silentLogger, interactive: true });
      await cache.get();
      expect(source.calls).toBe(1);
      await vi.advanceTimersByTimeAsync(49 * 60_000);
      expect(source.calls).toBe(1); // 11 min left: nothing yet
      await vi.advanceTimersByTimeAsync(60_000 + 10);
      expect(source.calls).toBe(2); // 10 min left: refreshed in the background
      expect(source.requests[1]!.minValidityMs).toBeGreaterThan(10 * 60_000);
      expect(source.requests[1]!.interactive).toBe(false);
      cache.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the source's refreshAt (a command provider's auth.refresh_interval)", () => {
  it('renews in the background at refreshAt although the token is valid for an hour', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    try {
      const source = new TestTokenSource({ expiresInMs: 60 * 60_000, refreshInMs: 120_000 });
      const cache = createTokenCache({ source, logger: silentLogger, interactive: true });
      expect((await cache.get()).token).toBe('test-token-1');
      await vi.advanceTimersByTimeAsync(119_000);
      expect(source.calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1_010);
      expect(source.calls).toBe(2); // every 2 minutes, not 10 minutes before expiry
      expect(source.requests[1]!.interactive).toBe(false);
      expect(cache.peek()?.token).toBe('test-token-2');
      await vi.advanceTimersByTimeAsync(120_000);
      expect(source.calls).toBe(3);
      cache.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a token without expiry is not reused past refreshAt', async () => {
    // The source stamps refreshAt from Date.now(): the cache's clock starts there too.
    let t = Date.now();
    const source = new TestTokenSource({ refreshInMs: 10_000 });
    const cache = createTokenCache({
      source,
      logger: silentLogger,
      interactive: true,
      backgroundRefresh: false,
      unknownExpiryReuseMs: 60_000,
      now: () => t,
    });
    await cache.get();
    t += 5_000;
    expect(cache.peek()?.token).toBe('test-token-1');
    // refreshAt (10 s) comes before the 60 s reuse of tokens without an expiry.
    t += 6_000;
    expect(cache.peek()).toBeUndefined();
    expect((await cache.get()).token).toBe('test-token-2');
    cache.close();
  });
});
