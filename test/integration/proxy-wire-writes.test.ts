/**
 * How many writes the wire engine makes per request toward the gateway (issue 14's bench criterion,
 * proxy CPU per request): a request whose head and small body arrive in one read leaves in one write
 * (one segment, one syscall), not a write for the head and another for the body. Counted on the
 * proxy's own upstream socket with a spy on net.Socket's write (the proxy runs in this process).
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw gateway answering each Content-Length request with a small JSON body once it is all in. */
async function startGateway(): Promise<{ url: string; port: number; requests: string[] }> {
  const state = { url: '', port: 0, requests: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.toString('latin1', 0, end));
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        state.requests.push(buf.toString('latin1', 0, end + 4 + len));
        buf = buf.subarray(end + 4 + len);
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}',
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return state;
}

async function wireProxy(gatewayUrl: string): Promise<RunningProxy> {
  const p = await startProxy({
    tokenSource: new TestTokenSource(),
    gatewayUrl,
    port: 0,
    host: '127.0.0.1',
    localKey: KEY,
    logger: silentLogger,
    engine: 'wire',
  });
  cleanups.push(() => p.close(100));
  return p;
}

/** Writes made on the proxy's connections to the gateway at `port` (sockets net.connect made to it). */
function countWritesTo(port: number): Buffer[] {
  const writes: Buffer[] = [];
  const toGateway = new WeakSet<net.Socket>();
  const connect = net.connect;
  vi.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
    const socket = (connect as (...a: unknown[]) => net.Socket)(...args);
    const o = args[0] as { port?: number };
    if (typeof o === 'object' && Number(o.port) === port) toGateway.add(socket);
    return socket;
  }) as typeof net.connect);
  const write = net.Socket.prototype.write;
  vi.spyOn(net.Socket.prototype, 'write').mockImplementation(function (
    this: net.Socket,
    ...args: Parameters<net.Socket['write']>
  ) {
    if (toGateway.has(this)) {
      const [data, encoding] = args;
      writes.push(
        typeof data === 'string'
          ? Buffer.from(data, typeof encoding === 'string' ? encoding : 'utf8')
          : Buffer.from(data),
      );
    }
    return write.apply(this, args);
  });
  return writes;
}

/** Send `raw` in one write on a fresh connection; resolve with everything up to the first answer. */
function exchange(port: number, raw: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(raw));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\n\r\n\{"ok":true\}$/.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

function post(port: number, body: string): Buffer {
  return Buffer.from(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-api-key: ${KEY}\r\n` +
      `content-type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'latin1',
  );
}

describe('wire engine: writes toward the gateway', () => {
  it('a POST whose head and small body arrive in one read goes to the gateway in one write', async () => {
    const gw = await startGateway();
    const p = await wireProxy(gw.url);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi '.repeat(40) }] });
    const writes = countWritesTo(gw.port);
    for (let i = 0; i < 3; i++) {
      const answer = await exchange(p.port, post(p.port, body));
      expect(answer.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    }
    expect(gw.requests).toHaveLength(3);
    for (const r of gw.requests) expect(r.endsWith(`\r\n\r\n${body}`)).toBe(true);
    // One write per request, each holding the whole request (head with the token, then the body).
    expect(writes).toHaveLength(3);
    for (const w of writes) {
      const text = w.toString('latin1');
      expect(text).toMatch(/^POST \/v1\/chat\/completions HTTP\/1\.1\r\n/);
      expect(text).toMatch(/\r\nauthorization: Bearer test-token-1\r\n/i);
      expect(text.endsWith(`\r\n\r\n${body}`)).toBe(true);
    }
  });

  it('a GET without a body also goes out in one write', async () => {
    const gw = await startGateway();
    const p = await wireProxy(gw.url);
    const writes = countWritesTo(gw.port);
    const raw = Buffer.from(
      `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nx-api-key: ${KEY}\r\n\r\n`,
    );
    const answer = await exchange(p.port, raw);
    expect(answer.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.toString('latin1')).toMatch(/^GET \/v1\/models HTTP\/1\.1\r\n[\s\S]*\r\n\r\n$/);
  });
});
