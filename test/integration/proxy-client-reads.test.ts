/**
 * How the wire engine reads its client connections (src/proxy/wire/adopt.ts): on this Node, with
 * `onread` into the shared read buffer, over the handle of a socket the server accepted paused
 * (front.ts' WIRE_SERVER_OPTIONS); where that cannot be done (a socket that may have read already,
 * a Node without what adopt.ts relies on) as a stream, which must serve the same. Real loopback
 * sockets throughout; the engine is driven both ways against the same gateway.
 */
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { WIRE_SERVER_OPTIONS } from '../../src/proxy/front.js';
import { type ProxyOptions, resolveSettings } from '../../src/proxy/options.js';
import { createPeerCheck } from '../../src/proxy/peer.js';
import { createPolicy } from '../../src/proxy/policy.js';
import { startProxy } from '../../src/proxy/server.js';
import { createTokenCache } from '../../src/proxy/token-cache.js';
import { adoptReads } from '../../src/proxy/wire/adopt.js';
import { createWireEngine } from '../../src/proxy/wire/index.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Listen on loopback; at cleanup every connection it accepted is cut, then it closes. */
async function listen(server: net.Server): Promise<number> {
  const accepted = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => accepted.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of accepted) s.destroy();
    return closed;
  });
  return (server.address() as AddressInfo).port;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    cleanups.push(() => void s.destroy());
  });
}

/** Splits the bytes of a connection into its messages (Content-Length framing), as they arrive. */
function messageReader(): (d: Buffer) => { head: string; body: Buffer }[] {
  let buf = Buffer.alloc(0);
  return (d) => {
    buf = Buffer.concat([buf, d]);
    const out: { head: string; body: Buffer }[] = [];
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const head = buf.toString('latin1', 0, end);
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return out;
      out.push({ head, body: buf.subarray(end + 4, end + 4 + len) });
      buf = buf.subarray(end + 4 + len);
    }
  };
}

/**
 * A gateway that answers each request (Content-Length bodies) with its path, body sha256 and the
 * token it carried; the first POST /v1/replay gets a 401; paths under /v1/hang are never answered.
 */
async function gateway(): Promise<{ url: string; seen: string[]; hanging: () => number }> {
  const seen: string[] = [];
  let hanging = 0;
  let replayed = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const messages = messageReader();
    socket.on('data', (d: Buffer) => {
      for (const { head, body } of messages(d)) {
        const path = head.split(' ')[1]!;
        seen.push(path);
        if (path.startsWith('/v1/hang')) {
          hanging++;
          continue;
        }
        if (path === '/v1/replay' && !replayed) {
          replayed = true;
          socket.write('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
          continue;
        }
        const auth = /\r\nauthorization: ([^\r]*)/i.exec(head)?.[1];
        const out = JSON.stringify({ path, auth, sha: sha(body) });
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${out.length}\r\n\r\n${out}`);
      }
    });
  });
  const port = await listen(server);
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
  });
  return { url: `http://127.0.0.1:${port}`, seen, hanging: () => hanging };
}

/** The wire engine behind a server whose sockets it cannot adopt: they start reading at once. */
async function streamPathProxy(gatewayUrl: string): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  const port = await listen(server);
  const options: ProxyOptions = {
    tokenSource: new TestTokenSource({ issue: (n) => `token-${n}` }),
    gatewayUrl,
    port,
    host: '127.0.0.1',
    localKey: KEY,
    logger: silentLogger,
    engine: 'wire',
  };
  const tokens = createTokenCache({ source: options.tokenSource, logger: silentLogger, interactive: false });
  const engine = createWireEngine(
    createPolicy(resolveSettings(options), tokens, createPeerCheck(options, silentLogger)),
  );
  server.on('connection', (socket) => engine.accept(socket));
  cleanups.push(() => {
    engine.destroyAll();
    tokens.close();
  });
  return port;
}

async function adoptedPathProxy(gatewayUrl: string): Promise<number> {
  const p = await startProxy({
    tokenSource: new TestTokenSource({ issue: (n) => `token-${n}` }),
    gatewayUrl,
    port: 0,
    host: '127.0.0.1',
    localKey: KEY,
    logger: silentLogger,
    engine: 'wire',
  });
  cleanups.push(() => p.close(100));
  return p.port;
}

function request(port: number, method: string, path: string, body = Buffer.alloc(0)): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-api-key: ${KEY}\r\ncontent-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Read `count` Content-Length answers from `socket`; their bodies parsed as JSON. */
function answers(
  socket: net.Socket,
  count: number,
): Promise<{ status: number; body: Record<string, string> }[]> {
  return new Promise((resolve, reject) => {
    const messages = messageReader();
    const out: { status: number; body: Record<string, string> }[] = [];
    const onData = (d: Buffer) => {
      for (const { head, body } of messages(d)) {
        const text = body.toString();
        out.push({ status: Number(head.split(' ')[1]), body: text ? JSON.parse(text) : {} });
        if (out.length === count) {
          socket.off('data', onData);
          resolve(out);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${out.length} of ${count} answers`)));
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('adoptReads: a socket the server accepted, read with onread', () => {
  it('accepted as the proxy accepts (paused on connect): reads arrive in the buffer given, writes and the end work, and the server counts the connection until it closes', async () => {
    const server = net.createServer(WIRE_SERVER_OPTIONS);
    const given = Buffer.alloc(1024);
    const reads: string[] = [];
    const adopted = new Promise<net.Socket>((resolve, reject) => {
      server.once('connection', (accepted: net.Socket) => {
        const s = adoptReads(accepted, {
          buffer: () => given,
          callback: (n, buf) => {
            if (buf !== given) reject(new Error('read into another buffer'));
            reads.push(Buffer.from(buf.subarray(0, n)).toString());
            return true;
          },
        });
        if (!s) reject(new Error('not adopted on this Node'));
        else resolve(s);
      });
    });
    const port = await listen(server);
    const client = await connect(port);
    client.write('before adoption? ');
    const s = await adopted;
    const ended = new Promise<void>((r) => s.once('end', () => r()));
    await sleep(50);
    client.write('and after');
    const echoed = new Promise<string>((r) => client.once('data', (d: Buffer) => r(d.toString())));
    await expect.poll(() => reads.join('')).toBe('before adoption? and after');
    s.write('answer');
    expect(await echoed).toBe('answer');
    const count = () => new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));
    expect(await count()).toBe(1);
    client.end();
    await ended;
    s.end();
    await new Promise<void>((r) => s.once('close', () => r()));
    await expect.poll(count).toBe(0);
  });

  it('a socket that was not paused on connect (it may have read already) is not adopted, and loses nothing', async () => {
    const server = net.createServer({ allowHalfOpen: true });
    const got: string[] = [];
    const refused = new Promise<boolean>((resolve) => {
      server.once('connection', (accepted: net.Socket) => {
        setTimeout(() => {
          const s = adoptReads(accepted, { buffer: () => Buffer.alloc(64), callback: () => true });
          accepted.on('data', (d: Buffer) => got.push(d.toString()));
          resolve(s === undefined);
        }, 100); // the stream has read the first bytes by now
      });
    });
    const client = await connect(await listen(server));
    client.write('first bytes');
    expect(await refused).toBe(true);
    client.write(', then more');
    await expect.poll(() => got.join('')).toBe('first bytes, then more');
  });
});

describe.each([
  ['onread (adopted)', adoptedPathProxy],
  ['stream (not adoptable)', streamPathProxy],
])('the wire engine reading clients by %s', (_name, proxy) => {
  it('keep-alive requests with bodies, a pipelined pair and an upload replayed after a 401 reach the gateway intact', async () => {
    const gw = await gateway();
    const port = await proxy(gw.url);
    const c = await connect(port);
    const small = Buffer.from('{"small":true}');
    const upload = Buffer.alloc(3 * 1024 * 1024 + 7, 'upload bytes ');
    c.write(request(port, 'POST', '/v1/one', small));
    expect((await answers(c, 1))[0]!.body).toEqual({
      path: '/v1/one',
      auth: 'Bearer token-1',
      sha: sha(small),
    });
    c.write(
      Buffer.concat([
        request(port, 'POST', '/v1/a', Buffer.from('a')),
        request(port, 'POST', '/v1/b', Buffer.from('b')),
      ]),
    );
    expect((await answers(c, 2)).map((a) => a.body.path)).toEqual(['/v1/a', '/v1/b']);
    c.write(request(port, 'POST', '/v1/replay', upload));
    const [r] = await answers(c, 1);
    expect(r!.body).toEqual({ path: '/v1/replay', auth: 'Bearer token-2', sha: sha(upload) });
  });

  it('pipelined requests behind one the gateway holds: reading stops (the client is held back), nothing more is sent', async () => {
    const gw = await gateway();
    const port = await proxy(gw.url);
    const c = await connect(port);
    // 16 MiB of small pipelined requests: more than the loopback socket buffers hold.
    const one = request(port, 'GET', '/v1/hang/next');
    const many = Buffer.concat(Array.from({ length: Math.ceil((16 * 1024 * 1024) / one.length) }, () => one));
    c.write(Buffer.concat([request(port, 'GET', '/v1/hang/first'), many]));
    await expect.poll(gw.hanging).toBe(1);
    await sleep(500);
    expect(c.writableLength, 'bytes the proxy has not read').toBeGreaterThan(4 * 1024 * 1024);
    expect(gw.seen).toEqual(['/v1/hang/first']);
  });
});
