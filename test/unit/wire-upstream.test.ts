/**
 * The wire engine's gateway side on its own (src/proxy/wire/upstream.ts, pool.ts), against a raw TCP
 * server: reuse of a clean connection, dropping one with bytes after its response, interim answers,
 * the gateway closing mid-response, the sweep's timeouts.
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Http1Head } from '../../src/proxy/wire/http1.js';
import { POOL_IDLE_MS, UpstreamPool } from '../../src/proxy/wire/pool.js';
import type { ResponseSink } from '../../src/proxy/wire/upstream.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A gateway answering each request head with `answer(n)` (n counts requests per connection). */
async function gateway(answer: (n: number) => string): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let n = 0;
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        socket.write(answer(++n));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

interface Recorded {
  status?: number;
  body: string;
  done: Promise<'complete' | Error>;
}

function sink(): ResponseSink & Recorded {
  let settle: (v: 'complete' | Error) => void = () => undefined;
  const done = new Promise<'complete' | Error>((r) => {
    settle = r;
  });
  const s: ResponseSink & Recorded = {
    body: '',
    done,
    responseHead(h: Http1Head) {
      s.status = h.status;
      return false;
    },
    responseBody(b) {
      s.body += b.toString();
    },
    passChunks: false,
    responseRaw: () => undefined,
    responseChunkLine: () => undefined,
    responseComplete: () => settle('complete'),
    flushRead: () => undefined,
    failed: (err) => settle(err as Error),
    drained: () => undefined,
  };
  return s;
}

function poolFor(port: number, now = () => Date.now()): UpstreamPool {
  return new UpstreamPool({ secure: false, host: '127.0.0.1', port, connectTimeoutMs: 5_000 }, now);
}

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';

describe('upstream connections and their pool', () => {
  it('a clean keep-alive connection goes back to the pool and is reused', async () => {
    const gw = await gateway((n) => `HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${n}`);
    const pool = poolFor(gw.port);
    for (const expected of ['1', '2']) {
      const s = sink();
      pool.acquire(s).socket.write(GET);
      expect(await s.done).toBe('complete');
      expect([s.status, s.body]).toEqual([200, expected]);
      expect(pool.idle).toHaveLength(1);
      expect(pool.busy).toBe(0);
    }
    expect(gw.connections()).toBe(1);
    pool.destroyAll();
  });

  it('a connection with bytes after the response is dropped, not pooled', async () => {
    const gw = await gateway(
      () => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nX',
    );
    const pool = poolFor(gw.port);
    const s = sink();
    const u = pool.acquire(s);
    u.socket.write(GET);
    expect(await s.done).toBe('complete');
    expect(s.body).toBe('ok');
    expect(pool.idle).toHaveLength(0);
    expect(u.dead).toBe(true);
  });

  it('Connection: close answers are not pooled; 101 and 102 fail the request; 100/103 are skipped', async () => {
    const gw = await gateway((n) =>
      n === 1
        ? 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na'
        : '',
    );
    const pool = poolFor(gw.port);
    const s = sink();
    pool.acquire(s).socket.write(GET);
    expect(await s.done).toBe('complete');
    expect([s.status, s.body]).toEqual([200, 'a']);
    expect(pool.idle).toHaveLength(0);
    for (const status of [101, 102]) {
      const gw2 = await gateway(() => `HTTP/1.1 ${status} X\r\n\r\n`);
      const p2 = poolFor(gw2.port);
      const s2 = sink();
      p2.acquire(s2).socket.write(GET);
      const r = await s2.done;
      expect((r as { code?: string }).code).toBe('E_UPSTREAM_PROTOCOL');
      expect(p2.empty).toBe(true);
    }
  });

  it('the gateway closing mid-body fails the request; the sweep times out silent gateways and old idle ones', async () => {
    const cut = await gateway(() => 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    const pool = poolFor(cut.port);
    const s = sink();
    const u = pool.acquire(s);
    u.socket.write(GET);
    await new Promise((r) => setTimeout(r, 100));
    u.socket.end(); // our side; the server closes too
    const silent = await gateway(() => '');
    let now = Date.now();
    const p2 = poolFor(silent.port, () => now);
    const s2 = sink();
    p2.acquire(s2).socket.write(GET);
    now += 1_000;
    p2.sweep(now, 500);
    expect(((await s2.done) as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    const ok = await gateway(() => 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    const p3 = poolFor(ok.port, () => now);
    const s3 = sink();
    p3.acquire(s3).socket.write(GET);
    expect(await s3.done).toBe('complete');
    expect(p3.idle).toHaveLength(1);
    p3.sweep(now + POOL_IDLE_MS, 500);
    expect(p3.idle).toHaveLength(0);
    expect(await s.done).toBeInstanceOf(Error);
  });
});
