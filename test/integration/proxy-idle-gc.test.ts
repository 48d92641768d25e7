/**
 * The proxy gives a burst's memory back once idle (src/proxy/idle-gc.ts, issue 19's "back within
 * 10 MiB of idle 30 s after they close"): 10 s after the last of ≥ 64 client connections closed,
 * one full collection runs (`gc` in a fresh context); a few connections do not cause one.
 */
import net from 'node:net';
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { TestTokenSource } from '../helpers/tokens.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxy(engine: 'wire' | 'node'): Promise<RunningProxy> {
  const p = await startProxy({
    tokenSource: new TestTokenSource(),
    gatewayUrl: 'http://127.0.0.1:9',
    port: 0,
    host: '127.0.0.1',
    localKey: generateLocalProxyKey(),
    logger: silentLogger,
    engine,
    peerCheck: false,
  });
  cleanups.push(() => p.close(100));
  return p;
}

/** Open `n` connections to the proxy, let it accept them all, then close them. */
async function burst(port: number, n: number): Promise<void> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', reject);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 300)); // the proxy's accept callbacks
  for (const s of sockets) s.destroy();
}

async function until(f: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return f();
}

describe.each(['wire', 'node'] as const)('%s engine: memory back after a burst', (engine) => {
  it('after 80 connections close, one full collection runs', async () => {
    const p = await proxy(engine);
    const spy = vi.spyOn(vm, 'runInNewContext');
    const gcs = () => spy.mock.calls.filter((c) => c[0] === 'gc').length;
    await burst(p.port, 80);
    expect(await until(() => gcs() > 0, 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(gcs()).toBe(1);
  }, 45_000);

  it('a few connections do not cause one', async () => {
    const p = await proxy(engine);
    const spy = vi.spyOn(vm, 'runInNewContext');
    await burst(p.port, 8);
    await new Promise((r) => setTimeout(r, 11_000)); // longer than the settle time
    expect(spy.mock.calls.filter((c) => c[0] === 'gc')).toHaveLength(0);
  }, 30_000);
});
