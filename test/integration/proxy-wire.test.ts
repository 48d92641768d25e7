/**
 * The wire engine (src/proxy/wire.ts + the strict parser src/proxy/http1.ts) driven over raw TCP
 * sockets, in front of small upstreams these tests control: the cases HTTP client libraries hide
 * (smuggling framings, pipelining, HTTP/1.0, 100-continue, upgrades, oversized heads, half-closes,
 * stale pooled upstream connections, backpressure, hop-by-hop header handling).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
const TOKEN = 'wire-test-token';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ cleanup

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// ------------------------------------------------------------------ upstreams

interface Seen {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface NodeUpstream {
  url: string;
  port: number;
  seen: Seen[];
  /** TCP connections accepted. */
  connections: number;
}

type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

const echoHandler: UpstreamHandler = (req, res, seen) => {
  const body = JSON.stringify({ method: req.method, url: req.url, bytes: seen.body.length });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/** A node:http gateway that records every request (body read in full) before answering. */
async function startUpstream(handler: UpstreamHandler = echoHandler): Promise<NodeUpstream> {
  const seen: Seen[] = [];
  const state: NodeUpstream = { url: '', port: 0, seen, connections: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      handler(req, res, s);
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return state;
}

interface RawRequest {
  head: string;
  body: Buffer;
  /** 1-based index of this request on its connection. */
  n: number;
}

/**
 * A raw TCP gateway: parses requests (Content-Length bodies only) and lets the test write any bytes
 * back. `onRequest` gets the socket so it can answer, delay, or kill the connection.
 */
async function startRawUpstream(
  onRequest: (req: RawRequest, socket: net.Socket) => void,
): Promise<{ url: string; port: number; requests: RawRequest[]; connections: number }> {
  const state = { url: '', port: 0, requests: [] as RawRequest[], connections: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let n = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        const req = { head, body: buf.subarray(end + 4, end + 4 + len), n: ++n };
        buf = buf.subarray(end + 4 + len);
        state.requests.push(req);
        onRequest(req, socket);
        if (socket.destroyed) return;
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

// ------------------------------------------------------------------ the proxy

async function wireProxy(
  gatewayUrl: string,
  extra: Partial<Parameters<typeof startProxy>[0]> = {},
): Promise<RunningProxy> {
  const p = await startProxy({
    tokenSource: new TestTokenSource({ issue: () => TOKEN }),
    gatewayUrl,
    port: 0,
    host: '127.0.0.1',
    localKey: KEY,
    logger: silentLogger,
    engine: 'wire',
    ...extra,
  });
  expect(p.engine).toBe('wire');
  cleanups.push(() => p.close(100));
  return p;
}

/** A request head (and body) as bytes; Host and the local key are added unless told otherwise. */
function request(
  p: RunningProxy,
  method: string,
  path: string,
  options: { headers?: string[]; body?: string | Buffer; version?: '1.0' | '1.1'; noLength?: boolean } = {},
): Buffer {
  const lines = [`${method} ${path} HTTP/${options.version ?? '1.1'}`, `Host: 127.0.0.1:${p.port}`];
  lines.push(`x-api-key: ${KEY}`, ...(options.headers ?? []));
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  if (options.body !== undefined && !options.noLength) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

// ------------------------------------------------------------------ a raw client

interface RawResponse {
  version: string;
  status: number;
  reason: string;
  /** [name, value] in order and case as received. */
  headers: [string, string][];
  header(name: string): string | undefined;
  /** The body after de-chunking. */
  body: Buffer;
  /** The bytes after the head, exactly as they came (chunk framing included). */
  wireBody: Buffer;
}

function decodeChunked(buf: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.toString('latin1', pos, eol).split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line: ${buf.toString('latin1', pos, eol)}`);
    pos = eol + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const e = buf.indexOf('\r\n', pos);
        if (e < 0) return undefined;
        const empty = e === pos;
        pos = e + 2;
        if (empty) return { body: Buffer.concat(parts), end: pos };
      }
    }
    if (buf.length < pos + size + 2) return undefined;
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) throw new Error('chunk not followed by CRLF');
    pos += size + 2;
  }
}

/** A request line plus the Host and key every malformed-framing case starts with. */
function startOf(requestLine: string, port: number): string {
  return `${requestLine} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-api-key: ${KEY}\r\n`;
}

class RawClient {
  private chunks: Buffer[] = [];
  /** Bytes received so far (cheap to poll, unlike buf). */
  bytes = 0;
  /** Everything received so far (joined on demand). */
  get buf(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }
  set buf(b: Buffer) {
    this.chunks = [b];
    this.bytes = b.length;
  }
  /** The proxy finished sending (FIN received). */
  ended = false;
  closed = false;
  error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.bytes += d.length;
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.ended = true;
      this.notify();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
  }

  static async connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    cleanups.push(() => {
      socket.destroy();
    });
    return c;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Wait until `fn` returns a value (re-checked on every read and on end). */
  async until<T>(fn: () => T | undefined, what: string, ms = 5_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`connection ended while waiting for ${what}; got ${this.preview()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.preview()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private preview(): string {
    return JSON.stringify(this.buf.toString('latin1', 0, 300));
  }

  /** Parse (and consume) one response; a HEAD answer has no body. */
  readResponse(options: { head?: boolean; ms?: number } = {}): Promise<RawResponse> {
    return this.until(() => this.tryParse(options.head ?? false), 'a response', options.ms);
  }

  private tryParse(headOnly: boolean): RawResponse | undefined {
    const buf = this.buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers: [string, string][] = lines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
    const header = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
    const status = Number(m[2]);
    const start = end + 4;
    let body: Buffer;
    let stop: number;
    const te = header('transfer-encoding');
    const cl = header('content-length');
    if (headOnly || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      stop = start;
    } else if (te && /chunked/i.test(te)) {
      const d = decodeChunked(buf, start);
      if (!d) return undefined;
      body = d.body;
      stop = d.end;
    } else if (cl !== undefined) {
      if (buf.length < start + Number(cl)) return undefined;
      stop = start + Number(cl);
      body = buf.subarray(start, stop);
    } else {
      if (!this.ended) return undefined;
      stop = buf.length;
      body = buf.subarray(start);
    }
    this.buf = buf.subarray(stop);
    return {
      version: m[1]!,
      status,
      reason: m[3] ?? '',
      headers,
      header,
      body: Buffer.from(body),
      wireBody: Buffer.from(buf.subarray(start, stop)),
    };
  }

  /** Wait for the proxy to close its side. */
  async waitEnd(ms = 3_000): Promise<void> {
    await this.until(() => (this.ended ? true : undefined), 'the connection to close', ms).catch((err) => {
      if (!this.ended) throw err;
    });
  }
}

function expectNoConnectionReuse(r: RawResponse): void {
  expect(r.header('connection')?.toLowerCase()).toBe('close');
}

// ------------------------------------------------------------------ tests

describe('wire engine over raw TCP', () => {
  describe('request smuggling and malformed framing → 400 and close, nothing forwarded', () => {
    const cases: [string, (port: number) => string][] = [
      [
        'Content-Length with Transfer-Encoding: chunked',
        (port) =>
          startOf('POST /v1/chat/completions', port) +
          'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-api-key: ${KEY}\r\n\r\n`,
      ],
      [
        'Transfer-Encoding: chunked before Content-Length',
        (port) =>
          startOf('POST /v1/chat/completions', port) +
          'Transfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n' +
          `0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-api-key: ${KEY}\r\n\r\n`,
      ],
      [
        'two Content-Length headers (same value)',
        (port) =>
          startOf('POST /v1/chat/completions', port) + 'Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
      ],
      [
        'two Content-Length headers (different values)',
        (port) =>
          startOf('POST /v1/chat/completions', port) + 'Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc',
      ],
      [
        'Content-Length list "3, 3"',
        (port) => startOf('POST /v1/chat/completions', port) + 'Content-Length: 3, 3\r\n\r\nabc',
      ],
      [
        'Transfer-Encoding: gzip',
        (port) => startOf('POST /v1/chat/completions', port) + 'Transfer-Encoding: gzip\r\n\r\nabc',
      ],
      [
        'Transfer-Encoding: gzip, chunked',
        (port) =>
          startOf('POST /v1/chat/completions', port) +
          'Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      ],
      [
        'Transfer-Encoding: chunked twice',
        (port) =>
          startOf('POST /v1/chat/completions', port) +
          'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      ],
      [
        'obs-fold (a header continued on the next line)',
        (port) => startOf('GET /v1/models', port) + 'X-Folded: first\r\n second\r\n\r\n',
      ],
      [
        'obs-fold hiding Transfer-Encoding',
        (port) =>
          startOf('POST /v1/chat/completions', port) +
          'Content-Length: 3\r\nX-Foo: bar\r\n Transfer-Encoding: chunked\r\n\r\nabc',
      ],
      [
        'bare LF line endings throughout',
        (port) => `GET /v1/models HTTP/1.1\nHost: 127.0.0.1:${port}\nx-api-key: ${KEY}\n\n`,
      ],
      [
        'one bare LF inside an otherwise CRLF head',
        (port) => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\nx-api-key: ${KEY}\r\nX-A: 1\r\n\r\n`,
      ],
      [
        'whitespace between header name and colon',
        (port) => startOf('POST /v1/chat/completions', port) + 'Content-Length : 3\r\n\r\nabc',
      ],
    ];

    for (const [name, build] of cases) {
      it(name, async () => {
        const up = await startUpstream();
        const p = await wireProxy(up.url);
        const c = await RawClient.connect(p.port);
        c.write(build(p.port));
        const r = await c.readResponse();
        expect(r.status).toBe(400);
        expectNoConnectionReuse(r);
        await c.waitEnd();
        expect(c.ended).toBe(true);
        // Give a forwarded request (if any) time to arrive.
        await sleep(100);
        expect(up.seen).toHaveLength(0);
        expect(up.connections).toBe(0);
        expect(c.buf.length).toBe(0); // no second response (the smuggled request)
      });
    }

    it('a malformed chunk in a streamed body: the client connection is cut, the upstream request never completes', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(
        request(p, 'POST', '/v1/chat/completions', {
          headers: ['Transfer-Encoding: chunked'],
          body: `3x\r\nabc\r\n0\r\n\r\n${request(p, 'GET', '/v1/smuggled').toString('latin1')}`,
          noLength: true,
        }),
      );
      await c.waitEnd();
      // Streaming to the gateway had begun with the (valid) head, so the proxy may only cut the
      // connection; it must not answer 2xx nor parse what follows as another request.
      expect(c.buf.toString('latin1')).not.toMatch(/^HTTP\/1\.1 2/);
      await sleep(100);
      expect(up.seen).toHaveLength(0);
    });

    it('control: a well-formed chunked body is forwarded intact and the connection stays open', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(
        request(p, 'POST', '/v1/chat/completions', {
          headers: ['Transfer-Encoding: chunked'],
          body: '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
          noLength: true,
        }),
      );
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(up.seen).toHaveLength(1);
      expect(up.seen[0]!.body.toString()).toBe('hello world');
      expect(up.seen[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
      c.write(request(p, 'GET', '/v1/models'));
      expect((await c.readResponse()).status).toBe(200);
      expect(c.ended).toBe(false);
    });
  });

  it('pipelining: requests written in one go are answered in order, each forwarded once with the token', async () => {
    const up = await startUpstream((req, res, seen) => {
      // The first answer is the slowest: a proxy that answered out of order would show it.
      const delay = req.url?.includes('slow') ? 150 : 0;
      setTimeout(() => echoHandler(req, res, seen), delay);
    });
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    c.write(
      Buffer.concat([
        request(p, 'GET', '/v1/models?slow=1'),
        request(p, 'POST', '/v1/chat/completions', { body: '{"model":"m","n":2}' }),
        request(p, 'GET', '/v1/models?third=1'),
      ]),
    );
    const r1 = await c.readResponse();
    const r2 = await c.readResponse();
    const r3 = await c.readResponse();
    expect([r1.status, r2.status, r3.status]).toEqual([200, 200, 200]);
    expect(JSON.parse(r1.body.toString()).url).toBe('/v1/models?slow=1');
    expect(JSON.parse(r2.body.toString())).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
    expect(JSON.parse(r3.body.toString()).url).toBe('/v1/models?third=1');
    await sleep(100);
    expect(up.seen.map((s) => s.url)).toEqual([
      '/v1/models?slow=1',
      '/v1/chat/completions',
      '/v1/models?third=1',
    ]);
    for (const s of up.seen) {
      expect(s.headers['authorization']).toBe(`Bearer ${TOKEN}`);
      expect(s.headers['x-api-key']).toBeUndefined();
    }
    expect(up.seen[1]!.body.toString()).toBe('{"model":"m","n":2}');
    expect(c.buf.length).toBe(0);
    expect(c.ended).toBe(false);
  });

  describe('HTTP/1.0 clients', () => {
    const sse: UpstreamHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const tick = () => {
        if (i === 3) {
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(`data: {"n":${i++}}\n\n`);
        setTimeout(tick, 20);
      };
      tick();
    };
    const events = 'data: {"n":0}\n\ndata: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n';

    it('a streamed (chunked) upstream answer is close-delimited, not chunk-encoded, and the socket closes', async () => {
      const up = await startUpstream(sse);
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/stream', { version: '1.0' }));
      await c.waitEnd();
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(r.header('transfer-encoding')).toBeUndefined();
      expectNoConnectionReuse(r);
      expect(r.header('content-type')).toBe('text/event-stream');
      expect(r.wireBody.toString()).toBe(events); // the raw bytes: no chunk framing
      // The upstream itself did chunk it (so the proxy really re-framed it).
      expect(up.seen[0]!.httpVersion).toBe('1.1');
    });

    it('control: the same answer to an HTTP/1.1 client is re-chunked and the connection stays open', async () => {
      const up = await startUpstream(sse);
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/stream'));
      const r = await c.readResponse();
      expect(r.header('transfer-encoding')).toBe('chunked');
      expect(r.body.toString()).toBe(events);
      expect(r.wireBody.toString()).not.toBe(events);
      await sleep(50);
      expect(c.ended).toBe(false);
    });

    it('HTTP/1.0 with keep-alive and a sized answer keeps the connection', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models', { version: '1.0', headers: ['Connection: keep-alive'] }));
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(r.header('connection')?.toLowerCase()).toBe('keep-alive');
      c.write(request(p, 'GET', '/v1/models?again', { version: '1.0', headers: ['Connection: keep-alive'] }));
      expect((await c.readResponse()).status).toBe(200);
    });

    // RFC 9110 §10.1.1 / §15.2: a 100-continue expectation in an HTTP/1.0 request is ignored and no
    // 1xx answer goes to a 1.0 client (as in node:http). (A regression test: the wire engine once sent it.)
    it('no 100 Continue is sent to an HTTP/1.0 client', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(
        request(p, 'POST', '/v1/chat/completions', {
          version: '1.0',
          headers: ['Expect: 100-continue'],
          body: '{"a":1}',
        }),
      );
      await c.waitEnd();
      const r = await c.readResponse();
      expect(r.status).toBe(200);
    });
  });

  it('Expect: 100-continue: interim 100 before the final answer; the body reaches upstream intact', async () => {
    const up = await startUpstream();
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    const body = randomBytes(200_000);
    const head = request(p, 'POST', '/v1/chat/completions', {
      headers: [
        'Expect: 100-continue',
        'Content-Type: application/octet-stream',
        `Content-Length: ${body.length}`,
      ],
    });
    c.write(head);
    const interim = await c.readResponse();
    expect(interim.version).toBe('1.1');
    expect(interim.status).toBe(100);
    expect(up.seen).toHaveLength(0); // nothing forwarded before the body
    c.write(body);
    const r = await c.readResponse();
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).bytes).toBe(body.length);
    expect(up.seen).toHaveLength(1);
    expect(up.seen[0]!.body.equals(body)).toBe(true);
    expect(up.seen[0]!.headers['expect']).toBeUndefined();
    expect(up.seen[0]!.headers['content-length']).toBe(String(body.length));
    expect(c.buf.length).toBe(0);
  });

  describe('protocol upgrades and CONNECT → 501 JSON and close', () => {
    it('Upgrade: websocket; bytes after the head are not parsed as a request', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(
        Buffer.concat([
          request(p, 'GET', '/v1/realtime', {
            headers: [
              'Connection: Upgrade',
              'Upgrade: websocket',
              'Sec-WebSocket-Version: 13',
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
            ],
          }),
          request(p, 'GET', '/v1/smuggled'),
        ]),
      );
      const r = await c.readResponse();
      expect(r.status).toBe(501);
      expect(r.header('content-type')).toBe('application/json');
      expectNoConnectionReuse(r);
      const json = JSON.parse(r.body.toString());
      expect(json.error.message).toMatch(/upgrades and CONNECT are not supported/);
      await c.waitEnd();
      await sleep(50);
      expect(c.buf.length).toBe(0);
      expect(up.seen).toHaveLength(0);
      expect(up.connections).toBe(0);
    });

    it('CONNECT', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`);
      const r = await c.readResponse();
      expect(r.status).toBe(501);
      expect(JSON.parse(r.body.toString()).error.message).toMatch(/CONNECT/);
      expectNoConnectionReuse(r);
      await c.waitEnd();
      expect(up.seen).toHaveLength(0);
    });
  });

  describe('request head size limit (16 KiB)', () => {
    it('a head over 16 KiB → 431 and close', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models', { headers: [`X-Big: ${'a'.repeat(20_000)}`] }));
      const r = await c.readResponse();
      expect(r.status).toBe(431);
      expectNoConnectionReuse(r);
      await c.waitEnd();
      expect(up.seen).toHaveLength(0);
    });

    it('a head still arriving is refused as soon as it passes 16 KiB (no terminator needed)', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\n`);
      for (let i = 0; i < 20; i++) c.write(`X-Pad-${i}: ${'b'.repeat(1000)}\r\n`);
      const r = await c.readResponse();
      expect(r.status).toBe(431);
      await c.waitEnd();
      expect(up.seen).toHaveLength(0);
    });

    it('control: a 15 KiB head is forwarded', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models', { headers: [`X-Big: ${'a'.repeat(15_000)}`] }));
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(up.seen[0]!.headers['x-big']).toHaveLength(15_000);
    });
  });

  describe('stale pooled upstream connections', () => {
    it('an upstream that closes each keep-alive connection just after answering: sequential requests all succeed', async () => {
      const up = await startUpstream((req, res, seen) => {
        const body = JSON.stringify({ url: req.url, bytes: seen.body.length });
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          connection: 'keep-alive',
          'keep-alive': 'timeout=60',
        });
        res.end(body);
        const socket = req.socket;
        setTimeout(() => socket.destroy(), 2);
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      const pauses = [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 15, 20, 30];
      for (const [i, pause] of pauses.entries()) {
        const post = i % 2 === 1;
        c.write(
          post
            ? request(p, 'POST', `/v1/chat/completions?i=${i}`, { body: `{"i":${i}}` })
            : request(p, 'GET', `/v1/models?i=${i}`),
        );
        const r = await c.readResponse();
        expect(r.status, `request ${i}: ${r.body.toString()}`).toBe(200);
        expect(JSON.parse(r.body.toString()).url).toContain(`i=${i}`);
        if (post) expect(JSON.parse(r.body.toString()).bytes).toBe(`{"i":${i}}`.length);
        await sleep(pause);
      }
      expect(c.ended).toBe(false);
    });

    it('a pooled connection the gateway drops on the next request is retried on a fresh one (body replayed)', async () => {
      const answered: string[] = [];
      const up = await startRawUpstream((req, socket) => {
        if (req.n > 1) {
          // The gateway had (silently) given up on this connection: no answer.
          socket.destroy();
          return;
        }
        answered.push(`${req.head.split('\r\n')[0]} ${req.body.toString()}`);
        const body = req.body.length ? req.body : Buffer.from('{}');
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
        );
        socket.write(body);
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      for (let i = 0; i < 5; i++) {
        c.write(request(p, 'POST', `/v1/chat/completions?i=${i}`, { body: `{"i":${i}}` }));
        const r = await c.readResponse();
        expect(r.status, r.body.toString()).toBe(200);
        expect(r.body.toString()).toBe(`{"i":${i}}`);
        await sleep(20);
      }
      expect(answered).toEqual(
        [0, 1, 2, 3, 4].map((i) => `POST /v1/chat/completions?i=${i} HTTP/1.1 {"i":${i}}`),
      );
      // Every request after the first went to a pooled connection first, then to a fresh one.
      expect(up.connections).toBe(5);
      expect(up.requests).toHaveLength(9);
    });

    it('a streamed (non-replayable) body on a dropped pooled connection is not replayed: 502', async () => {
      const up = await startRawUpstream((req, socket) => {
        if (req.n > 1) {
          socket.destroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models'));
      expect((await c.readResponse()).status).toBe(200);
      await sleep(20);
      c.write(
        request(p, 'POST', '/v1/chat/completions', {
          headers: ['Transfer-Encoding: chunked'],
          body: '3\r\nabc\r\n0\r\n\r\n',
          noLength: true,
        }),
      );
      const r = await c.readResponse();
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body.toString()).error.type).toBe('api_error');
      expect(up.connections).toBe(1);
    });
  });

  it('HEAD: the upstream Content-Length is passed, no body bytes, and the connection serves a following GET', async () => {
    const up = await startUpstream((req, res) => {
      const body = 'x'.repeat(1234);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1234 });
      if (req.method === 'HEAD') res.end();
      else res.end(body);
    });
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    c.write(request(p, 'HEAD', '/v1/models'));
    const h = await c.readResponse({ head: true });
    expect(h.status).toBe(200);
    expect(h.header('content-length')).toBe('1234');
    expect(h.header('transfer-encoding')).toBeUndefined();
    await sleep(100);
    expect(c.buf.length).toBe(0); // not a single body byte
    c.write(request(p, 'GET', '/v1/models'));
    const g = await c.readResponse();
    expect(g.status).toBe(200);
    expect(g.body.toString()).toBe('x'.repeat(1234));
    expect(up.seen.map((s) => s.method)).toEqual(['HEAD', 'GET']);
    expect(c.ended).toBe(false);
  });

  describe('header fidelity', () => {
    it('request headers keep case and order; credentials, hop-by-hop and Connection-named headers are dropped', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(
        [
          'POST /v1/messages?beta=true HTTP/1.1',
          'X-Custom-One: 1',
          `Host: 127.0.0.1:${p.port}`,
          'x-MiXeD-case: Two',
          'Connection: keep-alive, X-Drop',
          'Anthropic-Version: 2023-06-01',
          'X-Drop: secret-hop',
          'Keep-Alive: timeout=5',
          `x-api-key: ${KEY}`,
          'Authorization: Bearer client-supplied',
          'X-Dup: a',
          'Proxy-Authorization: Basic Zm9vOmJhcg==',
          'TE: trailers',
          'Upgrade: h2c',
          'X-Dup: b',
          'Content-Type: application/json',
          'Content-Length: 2',
          'User-Agent: raw-test/1.0',
          '',
          '{}',
        ].join('\r\n'),
      );
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      const s = up.seen[0]!;
      const pairs: [string, string][] = [];
      for (let i = 0; i < s.rawHeaders.length; i += 2) pairs.push([s.rawHeaders[i]!, s.rawHeaders[i + 1]!]);
      const names = pairs.map(([n]) => n.toLowerCase());
      // Exactly one of each framing/credential header, set by the proxy.
      expect(pairs.filter(([n]) => n.toLowerCase() === 'authorization')).toEqual([
        ['authorization', `Bearer ${TOKEN}`],
      ]);
      expect(pairs.filter(([n]) => n.toLowerCase() === 'host').map(([, v]) => v)).toEqual([
        `127.0.0.1:${up.port}`,
      ]);
      expect(pairs.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v)).toEqual(['2']);
      for (const gone of [
        'x-api-key',
        'connection',
        'keep-alive',
        'x-drop',
        'proxy-authorization',
        'te',
        'upgrade',
      ]) {
        expect(names, gone).not.toContain(gone);
      }
      expect(JSON.stringify(s.rawHeaders)).not.toContain(KEY);
      expect(JSON.stringify(s.rawHeaders)).not.toContain('client-supplied');
      // The end-to-end headers, in the client's order and case.
      const kept = pairs.filter(
        ([n]) => !['host', 'authorization', 'content-length'].includes(n.toLowerCase()),
      );
      expect(kept).toEqual([
        ['X-Custom-One', '1'],
        ['x-MiXeD-case', 'Two'],
        ['Anthropic-Version', '2023-06-01'],
        ['X-Dup', 'a'],
        ['X-Dup', 'b'],
        ['Content-Type', 'application/json'],
        ['User-Agent', 'raw-test/1.0'],
      ]);
      expect(s.url).toBe('/v1/messages?beta=true');
      expect(s.body.toString()).toBe('{}');
    });

    it('upstream hop-by-hop response headers are dropped, the rest keep case and order, the body is re-framed', async () => {
      const up = await startRawUpstream((_req, socket) => {
        socket.write(
          [
            'HTTP/1.1 200 Fine',
            'X-Resp-B: 2',
            'x-resp-a: 1',
            'Keep-Alive: timeout=5, max=100',
            'Connection: keep-alive, X-Hidden',
            'X-Hidden: hop-secret',
            'Proxy-Authenticate: Basic',
            'Trailer: X-T',
            'Set-Cookie: a=1',
            'Set-Cookie: b=2',
            'Transfer-Encoding: chunked',
            '',
            '5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
          ].join('\r\n'),
        );
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models'));
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(r.reason).toBe('Fine');
      expect(r.body.toString()).toBe('hello world');
      expect(r.headers).toEqual([
        ['X-Resp-B', '2'],
        ['x-resp-a', '1'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['transfer-encoding', 'chunked'],
      ]);
      // The client connection (and the upstream one) stays usable.
      c.write(request(p, 'GET', '/v1/models'));
      expect((await c.readResponse()).body.toString()).toBe('hello world');
      expect(up.connections).toBe(1);
      expect(c.ended).toBe(false);
    });

    it('a close-delimited upstream answer reaches an HTTP/1.1 client chunked, and its connection stays open', async () => {
      const up = await startRawUpstream((_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one,');
        setTimeout(() => socket.end(' part two'), 30);
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models'));
      const r = await c.readResponse();
      expect(r.header('transfer-encoding')).toBe('chunked');
      expect(r.body.toString()).toBe('part one, part two');
      c.write(request(p, 'GET', '/v1/models'));
      expect((await c.readResponse()).body.toString()).toBe('part one, part two');
      expect(up.connections).toBe(2); // a close-delimited connection is never pooled
    });
  });

  // A client that closes its side with requests in flight has gone away (an aborted request; HTTP
  // clients do not half-close and wait for answers): the requests are cancelled with their upstream
  // requests, as node:http (the node engine) and nginx do. (The wire engine once kept answering
  // them, so an aborted non-streaming request kept the gateway busy until it answered.)
  describe('client end() (FIN) with requests in flight', () => {
    /** An upstream that never answers, and notes each request the proxy cut. */
    async function hangingUpstream() {
      let cut = 0;
      const up = await startUpstream((_req, res) => {
        res.once('close', () => {
          if (!res.writableFinished) cut++;
        });
      });
      return { up, cut: () => cut };
    }

    it('a request then end(): the upstream request is cancelled and the connection closes, unanswered', async () => {
      const { up, cut } = await hangingUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port, { allowHalfOpen: true });
      c.write(request(p, 'POST', '/v1/chat/completions', { body: '{"half":"close"}' }));
      await expect.poll(() => up.seen.length, { timeout: 3_000 }).toBe(1);
      c.socket.end();
      await expect.poll(cut, { timeout: 3_000 }).toBe(1);
      await c.waitEnd();
      expect(c.buf.length).toBe(0);
      expect(up.seen[0]!.body.toString()).toBe('{"half":"close"}');
    });

    it('pipelined requests then end(): the one with the gateway is cancelled, the queued one never sent', async () => {
      const { up, cut } = await hangingUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port, { allowHalfOpen: true });
      c.write(Buffer.concat([request(p, 'GET', '/v1/models?a'), request(p, 'GET', '/v1/models?b')]));
      await expect.poll(() => up.seen.length, { timeout: 3_000 }).toBe(1);
      c.socket.end();
      await expect.poll(cut, { timeout: 3_000 }).toBe(1);
      await c.waitEnd();
      await sleep(100);
      expect(up.seen.map((x) => x.url)).toEqual(['/v1/models?a']);
      expect(c.buf.length).toBe(0);
    });

    it('end() while the request waits for a login: the login goes on, the request is not sent', async () => {
      const up = await startUpstream();
      const source = new TestTokenSource({ issue: () => TOKEN, delayMs: 400 });
      const p = await wireProxy(up.url, { tokenSource: source });
      const c = await RawClient.connect(p.port, { allowHalfOpen: true });
      c.write(request(p, 'GET', '/v1/models?first'));
      await sleep(100);
      c.socket.end();
      await c.waitEnd();
      await sleep(500);
      expect(up.seen).toHaveLength(0);
      // The login finished for the next request.
      const c2 = await RawClient.connect(p.port);
      c2.write(request(p, 'GET', '/v1/models?next'));
      expect((await c2.readResponse()).status).toBe(200);
      expect(source.calls).toBe(1);
    });

    it('end() in the middle of a request body: the proxy closes the connection', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port, { allowHalfOpen: true });
      c.write(request(p, 'POST', '/v1/chat/completions', { headers: ['Content-Length: 10'] }));
      c.write('12345');
      c.socket.end();
      await c.waitEnd(2_000);
      expect(c.ended).toBe(true);
      expect(up.seen).toHaveLength(0);
    });

    it('control: end() on an idle keep-alive connection after a complete exchange just closes it', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port, { allowHalfOpen: true });
      c.write(request(p, 'GET', '/v1/models'));
      expect((await c.readResponse()).status).toBe(200);
      c.socket.end();
      await c.waitEnd();
      expect(c.buf.length).toBe(0);
    });
  });

  describe('backpressure', () => {
    it('a slow client reading a large body: the proxy does not buffer it, and every byte arrives intact', async () => {
      const SIZE = 64 * 1024 * 1024;
      const data = randomBytes(SIZE);
      const digest = createHash('sha256').update(data).digest('hex');
      let written = 0;
      const up = await startUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
        const PIECE = 64 * 1024;
        const pump = () => {
          while (written < SIZE) {
            const piece = data.subarray(written, Math.min(SIZE, written + PIECE));
            written += piece.length;
            if (written === SIZE) {
              res.end(piece);
              return;
            }
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
        };
        pump();
      });
      const p = await wireProxy(up.url);
      const socket = net.connect({ port: p.port, host: '127.0.0.1' });
      cleanups.push(() => {
        socket.destroy();
      });
      await new Promise<void>((r) => socket.once('connect', r));

      const hash = createHash('sha256');
      let headBuf = Buffer.alloc(0);
      let headDone = false;
      let got = 0;
      let slow = false;
      let onHead: () => void = () => undefined;
      const headSeen = new Promise<void>((r) => {
        onHead = r;
      });
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((r) => {
        finish = r;
      });
      socket.on('data', (d: Buffer) => {
        if (!headDone) {
          headBuf = Buffer.concat([headBuf, d]);
          const end = headBuf.indexOf('\r\n\r\n');
          if (end < 0) return;
          headDone = true;
          expect(headBuf.toString('latin1', 0, end)).toMatch(new RegExp(`content-length: ${SIZE}`, 'i'));
          d = headBuf.subarray(end + 4);
          socket.pause(); // the slow client: stops reading right after the head
          onHead();
        }
        hash.update(d);
        got += d.length;
        if (got >= SIZE) finish();
        else if (slow && !socket.isPaused()) {
          // The slow client: one read, then a pause.
          socket.pause();
          setTimeout(() => {
            if (slow) socket.resume();
          }, 10);
        }
      });
      socket.write(request(p, 'GET', '/v1/files/big'));
      await headSeen;

      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 10);
      try {
        // Stalled: the gateway gets only as far as the socket buffers allow (without backpressure
        // it would have sent all 64 MiB into the proxy within milliseconds).
        await sleep(1_500);
        expect(written, 'bytes the gateway could send while the client was stalled').toBeLessThan(SIZE / 2);
        // Slow reading: one read every 10 ms for a second.
        slow = true;
        socket.resume();
        await sleep(1_000);
        peak = Math.max(peak, process.memoryUsage().rss);
        expect(written, 'bytes the gateway could send while the client was slow').toBeLessThan(SIZE / 2);
        expect((peak - base) / 1024 / 1024, 'RSS growth (MiB) while the client is slow').toBeLessThan(32);
      } finally {
        clearInterval(sampler);
      }
      slow = false;
      socket.resume();
      await finished;
      expect(got).toBe(SIZE);
      expect(hash.digest('hex')).toBe(digest);
    });

    // The gateway timeout counts the gateway's silence, not the time the proxy stopped reading it
    // because the client was slow (as undici skips its body timeout while paused). (Regression: the
    // wire engine once cut such a response.)
    it('a client that stalls longer than upstreamTimeoutMs still gets the whole body', async () => {
      const SIZE = 32 * 1024 * 1024;
      const data = randomBytes(SIZE);
      const up = await startUpstream((_req, res) => {
        res.writeHead(200, { 'content-length': SIZE });
        res.end(data);
      });
      const p = await wireProxy(up.url, { upstreamTimeoutMs: 500 });
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/files/big'));
      await c.until(() => (c.buf.indexOf('\r\n\r\n') >= 0 ? true : undefined), 'the head');
      c.socket.pause();
      await sleep(2_000);
      c.socket.resume();
      const head = c.buf.indexOf('\r\n\r\n') + 4;
      await c.until(() => (c.ended || c.bytes >= head + SIZE ? true : undefined), 'the body', 10_000);
      expect(c.buf.length - head, 'body bytes received').toBe(SIZE);
      expect(c.buf.subarray(head).equals(data)).toBe(true);
    });

    // Reads from a plain-HTTP gateway go into one buffer shared by every gateway connection
    // (src/proxy/wire/read-buffer.ts): bytes held past their read must have been copied, or another
    // connection's next read overwrites them. Held here: a write the stalled client's socket could
    // not take (small reads, so the shared buffer), and a response head that arrives in two reads.
    it("bytes held past their gateway read are the gateway's: a stalled client's answer and a head in two pieces stay intact while other connections are read", async () => {
      // Each piece read on its own: under a full read (so into the shared buffer), over the 16 KiB
      // that respond.ts gathers into one buffer (so written on as it is).
      const PIECE = 20_000;
      const PIECES = 600; // 12 MB: more than the loopback socket buffers take from a stalled client
      const piece = (i: number) => Buffer.alloc(PIECE, `piece ${i};`);
      const held = new Set<string>();
      const up = await startRawUpstream((req, socket) => {
        const path = req.head.split(' ')[1];
        if (path === '/drip' || path === '/drip-chunked') {
          // Sized: each read is written on as it is; chunked: as a size line, the data and a CRLF.
          const chunked = path === '/drip-chunked';
          const framing = chunked ? 'transfer-encoding: chunked' : `content-length: ${PIECE * PIECES}`;
          socket.write(`HTTP/1.1 200 OK\r\n${framing}\r\n\r\n`);
          let i = 0;
          const next = () => {
            if (socket.destroyed) return;
            if (i === PIECES) {
              if (chunked) socket.write('0\r\n\r\n');
              return;
            }
            // Chunked, with an extension: the proxy writes a plain size line of its own, then the
            // chunk's bytes as read (two parts over 16 KiB: respond.ts' writev).
            const size = `${PIECE.toString(16)};n=${i}\r\n`;
            const data = piece(i++);
            const ok = socket.write(
              chunked ? Buffer.concat([Buffer.from(size), data, Buffer.from('\r\n')]) : data,
            );
            // A pause between pieces: each is read on its own, not gathered into a full read.
            if (ok) setTimeout(next, 1);
            else {
              held.add(path); // the proxy stopped reading: its write to the stalled client waits
              socket.once('drain', next);
            }
          };
          next();
        } else if (path === '/split') {
          socket.write('HTTP/1.1 200 OK\r\nx-split: first piece\r\nContent-Le');
          setTimeout(() => socket.write('ngth: 5\r\n\r\nhello'), 300);
        } else {
          // Longer than a piece: each answer's read covers all the shared buffer a held piece is in.
          const body = `other answer ${req.n} `.repeat(2_000);
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        }
      });
      const p = await wireProxy(up.url);
      const stalled = await RawClient.connect(p.port);
      stalled.socket.pause();
      stalled.write(request(p, 'GET', '/drip'));
      const stalledChunked = await RawClient.connect(p.port);
      stalledChunked.socket.pause();
      stalledChunked.write(request(p, 'GET', '/drip-chunked'));
      const split = await RawClient.connect(p.port);
      split.write(request(p, 'GET', '/split'));
      for (let i = 0; held.size < 2 && i < 500; i++) await sleep(10);
      expect([...held].sort(), 'gateway writes held back by the stalled clients').toEqual([
        '/drip',
        '/drip-chunked',
      ]);
      // Meanwhile another client's answers are read into the shared buffer, again and again.
      const busy = await RawClient.connect(p.port);
      const until = Date.now() + 500;
      for (let n = 0; Date.now() < until; n++) {
        busy.write(request(p, 'GET', `/small/${n}`));
        const r = await busy.readResponse();
        expect(r.status).toBe(200);
        expect(r.body.toString()).toMatch(/^(other answer \d+ ){2000}$/);
      }
      const s = await split.readResponse();
      expect([s.status, s.header('x-split'), s.body.toString()]).toEqual([200, 'first piece', 'hello']);
      for (const c of [stalled, stalledChunked]) c.socket.resume();
      const bodies = [
        await stalled.readResponse({ ms: 20_000 }),
        await stalledChunked.readResponse({ ms: 20_000 }),
      ].map((r) => r.body);
      for (const body of bodies) {
        expect(body.length).toBe(PIECE * PIECES);
        for (let i = 0; i < PIECES; i++) {
          const got = body.subarray(i * PIECE, (i + 1) * PIECE);
          const want = piece(i);
          if (got.equals(want)) continue;
          let at = 0;
          while (got[at] === want[at]) at++;
          expect(got.toString('latin1', at, at + 40), `piece ${i} from byte ${at}`).toBe(
            want.toString('latin1', at, at + 40),
          );
        }
      }
    });

    // Client connections read into the same shared buffer (src/proxy/wire/adopt.ts): a request's
    // head and body are kept past their read whenever the request waits — for a login, for the
    // pipelined request before it, for its replay after a 401 — and must have been copied, or the
    // next read of any connection overwrites them.
    it("bytes held past their client read are the client's: requests waiting for a login, a pipelined one waiting its turn, a body replayed after a 401 and a head in two pieces reach the gateway intact while other connections are read", async () => {
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      let replays = 0;
      const up = await startRawUpstream((req, socket) => {
        const path = req.head.split(' ')[1]!;
        const tag = /\r\nx-tag: ([^\r]*)/.exec(req.head)?.[1] ?? '';
        const answer = () => {
          const body = JSON.stringify({ path, tag, sha: sha(req.body), head: req.head });
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        };
        if (path === '/v1/replay' && replays++ === 0) {
          setTimeout(() => socket.write('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n'), 300);
        } else if (path === '/v1/slow') setTimeout(answer, 300);
        else answer();
      });
      // The first token takes 300 ms (a login): every request read meanwhile waits with its bytes.
      const source = new TestTokenSource({ issue: (n) => `${TOKEN}-${n}`, delayMs: 300 });
      const p = await wireProxy(up.url, { tokenSource: source });
      const body = (tag: string, n = 700) => Buffer.from(`${tag}:`.repeat(Math.ceil(n / (tag.length + 1))));
      const req = (path: string, tag: string) =>
        request(p, 'POST', path, { headers: [`x-tag: ${tag}`], body: body(tag) });
      const expected = (r: RawResponse, path: string, tag: string) => {
        expect(r.status, `${tag}: status`).toBe(200);
        const got = JSON.parse(r.body.toString()) as { path: string; tag: string; sha: string; head: string };
        expect([got.path, got.tag, got.sha], tag).toEqual([path, tag, sha(body(tag))]);
        expect(got.head, `${tag}: the head the gateway got`).toMatch(/^POST \S+ HTTP\/1\.1\r\nhost: /);
        expect(got.head).toContain(`\r\nx-tag: ${tag}\r\nContent-Length: ${body(tag).length}\r\n`);
      };
      const waiting = await Promise.all([0, 1, 2].map(() => RawClient.connect(p.port)));
      for (const [i, c] of waiting.entries()) c.write(req('/v1/login', `login-${i}`));
      const pipelined = await RawClient.connect(p.port);
      pipelined.write(Buffer.concat([req('/v1/slow', 'first'), req('/v1/queued', 'second')]));
      const replayed = await RawClient.connect(p.port);
      replayed.write(req('/v1/replay', 'replayed'));
      const split = await RawClient.connect(p.port);
      const whole = req('/v1/split', 'split');
      split.write(whole.subarray(0, 60));
      // Meanwhile another client's requests are read into the shared buffer, again and again.
      const busy = await RawClient.connect(p.port);
      const until = Date.now() + 900;
      for (let n = 0; Date.now() < until; n++) {
        if (n === 3) split.write(whole.subarray(60));
        busy.write(req('/v1/busy', `busy-${n}`));
        expected(await busy.readResponse(), '/v1/busy', `busy-${n}`);
      }
      for (const [i, c] of waiting.entries()) expected(await c.readResponse(), '/v1/login', `login-${i}`);
      expected(await pipelined.readResponse(), '/v1/slow', 'first');
      expected(await pipelined.readResponse(), '/v1/queued', 'second');
      expected(await replayed.readResponse(), '/v1/replay', 'replayed');
      expect(replays, 'the replayed request went to the gateway twice').toBe(2);
      expected(await split.readResponse(), '/v1/split', 'split');
    });
  });

  // Chunked answers are passed on with their own framing (src/proxy/wire/http1.ts, passChunks); a
  // 401 is swallowed and the request retried once with a fresh token, so a swallowed chunked 401
  // must leave nothing behind, and a second one reaches the client whole.
  describe('a gateway that answers 401 with a chunked body', () => {
    const chunked401 = (n: number) =>
      `HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n4;why=token\r\nno-${n}\r\n0\r\n\r\n`;

    it('the retry answers: the client gets only the chunked 200, framed plainly', async () => {
      const up = await startRawUpstream((req, socket) => {
        socket.write(
          up.requests.length === 1
            ? chunked401(1)
            : 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nx-t: 1\r\n\r\n',
        );
        expect(req.body.toString()).toBe('{"q":1}');
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'POST', '/v1/messages', { body: '{"q":1}' }));
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('abcdefg');
      expect(r.wireBody.toString()).toBe('3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n');
      expect(up.requests).toHaveLength(2);
      // The connection goes on: nothing of the swallowed 401 is left to be read as the next answer.
      c.write(request(p, 'POST', '/v1/messages', { body: '{"q":1}' }));
      expect((await c.readResponse()).status).toBe(200);
    });

    it('a 401 again: the client gets the second 401 whole, once', async () => {
      const up = await startRawUpstream((_req, socket) => {
        socket.write(chunked401(up.requests.length));
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'POST', '/v1/messages', { body: '{}' }));
      const r = await c.readResponse();
      expect(r.status, r.body.toString()).toBe(401);
      expect(r.body.toString()).toBe('no-2');
      expect(r.wireBody.toString()).toBe('4\r\nno-2\r\n0\r\n\r\n');
      await sleep(50);
      expect(c.buf.length, 'bytes after the answer').toBe(0);
    });
  });

  describe('idle and partial clients', () => {
    it('a keep-alive connection still works after 1 s idle', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models?first'));
      expect((await c.readResponse()).status).toBe(200);
      await sleep(1_200);
      expect(c.ended).toBe(false);
      c.write(request(p, 'GET', '/v1/models?second'));
      const r = await c.readResponse();
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString()).url).toBe('/v1/models?second');
      expect(up.seen).toHaveLength(2);
    });

    it('a partial head that never completes does not block other clients', async () => {
      const up = await startUpstream();
      const p = await wireProxy(up.url);
      const slow = await RawClient.connect(p.port);
      slow.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nContent-Le`);
      // A request whose body never completes holds nothing either.
      const stuck = await RawClient.connect(p.port);
      stuck.write(request(p, 'POST', '/v1/chat/completions', { headers: ['Content-Length: 100'] }));
      stuck.write('only part of it');
      await sleep(50);
      const started = Date.now();
      const others = await Promise.all(
        [0, 1, 2, 3, 4].map(async (i) => {
          const c = await RawClient.connect(p.port);
          c.write(request(p, 'GET', `/v1/models?other=${i}`));
          return c.readResponse({ ms: 2_000 });
        }),
      );
      expect(others.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(Date.now() - started).toBeLessThan(1_000);
      // The partial head is still pending (not answered, not closed), and was never forwarded.
      expect(slow.buf.length).toBe(0);
      expect(slow.ended).toBe(false);
      expect(up.seen.map((s) => s.url).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `/v1/models?other=${i}`));
      // …and it can still finish.
      slow.write(`ngth: 2\r\nx-api-key: ${KEY}\r\n\r\n{}`);
      expect((await slow.readResponse()).status).toBe(200);
    });
  });
});

describe('wire engine: the gateway side is as strict as the client side (issue 14.6)', () => {
  it('bytes after a complete gateway response make the connection unusable, never the next answer', async () => {
    // The first answer carries a second, injected response in the same segment.
    const up = await startRawUpstream((req, socket) => {
      if (req.n === 1 && req.head.startsWith('GET /first')) {
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst' +
            'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nINJECTED',
        );
      } else {
        const body = req.head.startsWith('GET /second') ? 'second' : 'other';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    // Pipelined: the second request is ready the moment the first answer completes.
    c.write(Buffer.concat([request(p, 'GET', '/first'), request(p, 'GET', '/second')]));
    const r1 = await c.readResponse();
    const r2 = await c.readResponse();
    expect(r1.body.toString()).toBe('first');
    expect(r2.body.toString()).toBe('second');
    // The second request went out on a fresh connection (its first request there).
    expect(up.connections).toBe(2);
    expect(up.requests.map((r) => [r.head.split(' ')[1], r.n])).toEqual([
      ['/first', 1],
      ['/second', 1],
    ]);
    // A partial head after the answer taints the connection just as well.
    const up2 = await startRawUpstream((req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok${req.n === 1 ? 'HTTP/1.1 2' : ''}`);
    });
    const p2 = await wireProxy(up2.url);
    const c2 = await RawClient.connect(p2.port);
    c2.write(request(p2, 'GET', '/a'));
    expect((await c2.readResponse()).body.toString()).toBe('ok');
    c2.write(request(p2, 'GET', '/b'));
    expect((await c2.readResponse()).body.toString()).toBe('ok');
    expect(up2.connections).toBe(2);
  });

  for (const interim of [101, 102]) {
    it(`${interim} to a request that asked for no upgrade → 502 at once, not a hang`, async () => {
      const up = await startRawUpstream((_req, socket) => {
        socket.write(
          interim === 101
            ? 'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n\x81\x05hello'
            : 'HTTP/1.1 102 Processing\r\n\r\n',
        );
        // …and then nothing: before, the client waited for the upstream timeout (10 min by default).
      });
      const p = await wireProxy(up.url);
      const c = await RawClient.connect(p.port);
      c.write(request(p, 'GET', '/v1/models'));
      const r = await c.readResponse({ ms: 10_000 });
      expect(r.status).toBe(502);
      expect(r.body.toString()).toContain(`answered ${interim}`);
      expect(up.requests).toHaveLength(1); // not retried
    });
  }

  it('100 and 103 stay interim: the final answer reaches the client', async () => {
    const up = await startRawUpstream((_req, socket) => {
      socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
      );
    });
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    c.write(request(p, 'GET', '/v1/models'));
    const r = await c.readResponse();
    expect([r.status, r.body.toString()]).toEqual([200, 'ok']);
  });

  it('a key-less POST whose body never arrives gets 403 at once', async () => {
    const up = await startUpstream();
    const p = await wireProxy(up.url);
    const c = await RawClient.connect(p.port);
    c.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nContent-Length: 10\r\n\r\n`);
    // Before: held until the body came (forever).
    const r = await c.readResponse({ ms: 10_000 });
    expect(r.status).toBe(403);
    expect(up.seen).toHaveLength(0);
    // The body arrives after all: it is read and dropped, and the connection goes on.
    c.write('0123456789');
    c.write(request(p, 'GET', '/v1/models'));
    expect((await c.readResponse()).status).toBe(200);
  });

  it('a request whose body stalls is closed by the body timeout; nothing is forwarded', async () => {
    const up = await startUpstream();
    const p = await wireProxy(up.url, { clientTimeoutMs: 300 });
    const c = await RawClient.connect(p.port);
    c.write(request(p, 'POST', '/v1/chat/completions', { headers: ['Content-Length: 10'] }));
    c.write('0123');
    await c
      .until(() => (c.ended ? true : undefined), 'the connection to close', 15_000)
      .catch((err: Error) => {
        if (!c.ended) throw err;
      });
    expect(c.ended).toBe(true);
    expect(up.seen).toHaveLength(0);
    // A refused request whose body stalls is cut the same way.
    const k = await RawClient.connect(p.port);
    k.write(`POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nContent-Length: 10\r\n\r\n`);
    expect((await k.readResponse()).status).toBe(403);
    await k
      .until(() => (k.ended ? true : undefined), 'the connection to close', 15_000)
      .catch(() => undefined);
    expect(k.ended).toBe(true);
  });
});
