/**
 * Load and leak check of the loopback proxy: 1000 concurrent streaming requests, no error, every
 * stream intact, and the heap back near its baseline once the streams are done (no per-request
 * state kept: sockets, listeners, token promises, buffers).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { TestTokenSource } from '../helpers/tokens.js';

// A real full GC from inside the test worker (vitest does not pass --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const KEY = generateLocalProxyKey();
const TOKEN = 'load-test-token';
let gw: FakeGateway;
let proxy: RunningProxy;

beforeAll(async () => {
  gw = await startFakeGateway({ verify: (t) => (t === TOKEN ? 'load' : Promise.reject(new Error('bad'))) });
  proxy = await startProxy({
    tokenSource: new TestTokenSource({ issue: () => TOKEN, expiresInMs: 3_600_000 }),
    gatewayUrl: gw.url,
    port: 0,
    localKey: KEY,
    logger: silentLogger,
  });
});
afterAll(async () => {
  await proxy?.close(100);
  await gw?.close();
});

async function round(n: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${proxy.port}`, { connections: n });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: n }, async (_, i) => {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: `n${i}` }] }),
        });
        const body = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`request ${i}: HTTP ${res.statusCode} ${body}`);
        if (!body.includes(`"content":"n${i}"`) || !body.endsWith('data: [DONE]\n\n')) {
          throw new Error(`request ${i}: stream truncated or mixed up`);
        }
      }),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
  } finally {
    await pool.close();
  }
  gw.requests.length = 0;
}

async function settledHeap(): Promise<number> {
  // Let closed sockets and timers unwind, then collect twice (weak callbacks run between).
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

it('1000 concurrent SSE streams through the proxy: no error, heap back near baseline', async () => {
  // Warm-up: JIT, undici and http internals allocate their long-lived structures once.
  await round(200);
  const baseline = await settledHeap();
  await round(1000);
  expect(gw.openStreams).toBe(0);
  const during = process.memoryUsage().heapUsed;
  const after = await settledHeap();
  const growthMb = (after - baseline) / 1024 / 1024;
  // Each stream holds several KiB while open; a leak of per-request state would keep megabytes.
  expect(growthMb, `baseline ${baseline}, peak ${during}, after ${after}`).toBeLessThan(8);
  // A second full round must not ratchet memory up either.
  await round(1000);
  const again = await settledHeap();
  expect((again - baseline) / 1024 / 1024).toBeLessThan(8);
}, 120_000);
