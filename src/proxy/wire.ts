/**
 * The proxy's fast engine: HTTP/1.1 on plain sockets with the strict parser in http1.ts, without
 * node:http's and undici's per-request layers (IncomingMessage, ServerResponse, Request validation,
 * stream plumbing, a timer per socket), which cost more than half the proxy's CPU per request
 * (bench/README.md). Same behaviour as the node:http engine (server.ts, GATEPASS_PROXY_ENGINE=node):
 * - malformed or ambiguous requests (the request-smuggling cases) → 400 and the connection closes;
 * - every request body streams to the gateway as it arrives, with backpressure; one with a known
 *   length up to maxReplay is also recorded (tee) so it can be replayed after a 401, others are not;
 * - the gateway's answer is re-framed for the client (hop-by-hop headers dropped, chunked bodies
 *   re-chunked as they arrive, never buffered or copied: size line, data and CRLF go out in one
 *   corked write, a writev), the client's pace slowing the gateway;
 * - a client that goes away destroys its upstream connection; an upstream failure before the answer
 *   is a 502/504 JSON error, after it the client's connection is cut (no silent truncation);
 * - upstream connections (wire/upstream.ts: as strict with the gateway as this file is with
 *   clients) are kept alive in a small pool (wire/pool.ts); a pooled connection the gateway closed
 *   before answering is retried on a fresh one when the request is replayable;
 * - a refused request is answered as soon as its head is parsed (its body is read and dropped);
 * - timeouts (idle client, slow request head, stalled request body, gateway silent) are checked by
 *   one sweeper per engine, not a timer per socket.
 */
import type net from 'node:net';
import type { TokenResult } from '../auth/types.js';
import { GatepassError } from '../errors.js';
import type { ErrorKind } from './dialect.js';
import type { Headers } from './guard.js';
import { CLIENT, HOP, type Http1Handler, type Http1Head, Http1Parser } from './http1.js';
import { UpstreamPool } from './wire/pool.js';
import { type ResponseSink, type Upstream, WireError } from './wire/upstream.js';

export type Verdict =
  | { kind: 'refuse'; message: string }
  | { kind: 'health'; body: string }
  | { kind: 'forward'; path: string };

/** What an engine needs from the proxy (server.ts builds it; the node:http engine uses it too). */
export interface ProxyPolicy {
  gateway: URL;
  /** Guard + routing for one request arriving on `socket` (whose peer may be another user's). */
  route(method: string, url: string, headers: Headers, socket: net.Socket): Verdict;
  peekToken(): TokenResult | undefined;
  getToken(): Promise<TokenResult>;
  replaceToken(old: string): Promise<TokenResult>;
  tokenWaitMs: number;
  /** The 401 message for a failed token fetch (logs the cause at debug level). */
  tokenFailure(err: unknown): string;
  /** Status, kind and message for an upstream failure before any response (logs it). */
  upstreamFailure(err: unknown): { status: number; kind: ErrorKind; message: string };
  /** The JSON error body in the client's dialect. */
  errorBody(url: string, headers: Headers, status: number, kind: ErrorKind, message: string): string;
  maxReplay: number;
  connectTimeoutMs: number;
  /** A client connection idle, or a request body stalled, this long is closed (ms). */
  clientTimeoutMs: number;
  upstreamTimeoutMs: number;
  tls?: { ca?: string[]; rejectUnauthorized: boolean };
  debug(message: string): void;
  error(message: string): void;
  /** Told every error the proxy makes itself (status, and the message with its cause). */
  errorLog?: (method: string, url: string, status: number, message: string) => void;
  /** Called once per finished request when access logging is on. */
  accessLog?: (method: string, path: string, status: number, ms: number) => void;
}

export interface WireEngine {
  /** Serve one accepted client socket. */
  accept(socket: net.Socket): void;
  /** Stop: idle client connections close now, busy ones after their current exchange. */
  closeIdle(): void;
  destroyAll(): void;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

const HEADERS_TIMEOUT_MS = 60_000;
/** Streamed request bodies: stop reading the client while this much waits for the gateway. */
const STREAM_BUFFER_MAX = 256 * 1024;

const GONE = new WireError('E_CLIENT_GONE', 'client went away');

/**
 * A token from `get`, but never after `waitMs` (E_AUTH_TIMEOUT: a login left waiting in the browser)
 * nor after `client` closed (rejects with gone()): the login itself goes on for the next request.
 */
export function tokenWithin(
  client: { once(event: 'close', f: () => void): unknown; off(event: 'close', f: () => void): unknown },
  get: () => Promise<TokenResult>,
  waitMs: number,
  gone: () => Error,
): Promise<TokenResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('close', onClose);
      reject(new GatepassError('E_AUTH_TIMEOUT', 'timed out waiting for a gateway token'));
    }, waitMs);
    const onClose = () => {
      clearTimeout(timer);
      reject(gone());
    };
    client.once('close', onClose);
    get().then(
      (t) => {
        clearTimeout(timer);
        client.off('close', onClose);
        resolve(t);
      },
      (err: unknown) => {
        clearTimeout(timer);
        client.off('close', onClose);
        reject(err);
      },
    );
  });
}

/** Visible ASCII only (a token is spliced into the request head); the last good one is remembered. */
let lastSafeToken = '';
function headerSafe(token: string): boolean {
  if (token === lastSafeToken) return true;
  if (!/^[\x21-\x7e]+$/.test(token)) return false;
  lastSafeToken = token;
  return true;
}

enum Phase {
  Queued,
  Body, // reading a body that is dropped before the answer (a refused request)
  Token, // waiting for a token (login)
  Upstream, // sent; the answer is coming
  Done,
}

export function createWireEngine(policy: ProxyPolicy): WireEngine {
  const gw = policy.gateway;
  const secure = gw.protocol === 'https:';
  const gwPort = Number(gw.port) || (secure ? 443 : 80);
  const gwHostname = gw.hostname.startsWith('[') ? gw.hostname.slice(1, -1) : gw.hostname;
  const hostLine = `host: ${gw.host}\r\n`;
  const clients = new Set<Client>();
  let stopping = false;
  const clientIdleMs = policy.clientTimeoutMs;

  // ------------------------------------------------------------------ timeouts: one sweeper
  // Activity stamps use `clock`, refreshed by the sweeper, so the hot path never reads the time.
  const tick = Math.max(
    25,
    Math.min(1000, Math.floor(policy.upstreamTimeoutMs / 4), Math.floor(clientIdleMs / 4)),
  );
  let clock = Date.now();
  const pool = new UpstreamPool(
    {
      secure,
      host: gwHostname,
      port: gwPort,
      tls: policy.tls,
      connectTimeoutMs: policy.connectTimeoutMs,
    },
    () => clock,
  );
  let sweeper: NodeJS.Timeout | undefined;
  function ensureSweeper(): void {
    if (sweeper) return;
    clock = Date.now();
    sweeper = setInterval(sweep, tick);
    sweeper.unref();
  }
  function sweep(): void {
    const now = Date.now();
    clock = now;
    for (const c of clients) {
      if (c.closed) {
        // Answered and closed on our side; a client that never closes its side is cut after a while.
        if (now - c.last >= clientIdleMs + tick) c.socket.destroy();
        continue;
      }
      const ex = c.queue[0];
      if (ex) {
        // A request whose body stopped arriving (being forwarded, or read to be dropped); not one
        // whose client is paused because the gateway is slow to take it.
        const stalled =
          ex.phase === Phase.Body ||
          (ex.phase === Phase.Upstream && !ex.bodyDone && !ex.responseStarted && !c.socket.isPaused());
        if (stalled && now - c.last >= clientIdleMs + tick) c.socket.destroy();
        continue;
      }
      if (now - c.last >= clientIdleMs + tick) c.socket.destroy();
      else if (c.headStart && now - c.headStart >= HEADERS_TIMEOUT_MS + tick) c.socket.destroy();
    }
    pool.sweep(now, policy.upstreamTimeoutMs + tick);
    if (!clients.size && pool.empty) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  function acquire(ex: Exchange): Upstream {
    const u = pool.acquire(ex);
    ensureSweeper();
    return u;
  }

  // ------------------------------------------------------------------ one request/response

  class Exchange implements ResponseSink {
    phase = Phase.Queued;
    body: Buffer[] = [];
    bodyBytes = 0;
    /** 'buffer' mode: how many of `body`'s pieces went to the current upstream connection. */
    sent = 0;
    bodyDone = false;
    /**
     * 'buffer' (forwarded as it arrives and recorded: replayable), 'stream' (forwarded as it arrives,
     * not kept), 'discard' (answered without it).
     */
    bodyMode: 'buffer' | 'stream' | 'discard';
    readonly started = policy.accessLog ? performance.now() : 0;
    status = 0;
    path = '';
    token = '';
    conn: Upstream | undefined;
    /** The gateway answered 401 once already: the next answer goes to the client as it is. */
    retried401 = false;
    staleRetries = 0;
    /** The connection came from the pool (a stale one may fail before answering). */
    reused = false;
    /** The terminating chunk of a streamed chunked body was sent. */
    endSent = false;
    swallow401 = false;
    swallowed = false;
    responseStarted = false;
    chunkedOut = false;
    closeAfter: boolean;
    /** Response bytes produced while parsing one read from the gateway, written as one. */
    out: (string | Buffer)[] = [];
    /** An answer to send once the (discarded) request body has arrived. */
    pendingAnswer: (() => void) | undefined;
    readonly headOnly: boolean;

    constructor(
      readonly client: Client,
      readonly head: Http1Head,
    ) {
      this.bodyMode =
        head.chunked || (head.contentLength !== undefined && head.contentLength > policy.maxReplay)
          ? 'stream'
          : 'buffer';
      this.headOnly = head.method === 'HEAD';
      this.closeAfter = !head.keepAlive || head.upgrade;
    }

    // ResponseSink: the gateway's answer, from this exchange's upstream connection (upstream.ts).
    responseHead(h: Http1Head): boolean {
      this.status = h.status;
      if (h.status === 401 && this.swallow401) this.swallowed = true;
      else writeResponseHead(this, h);
      return this.headOnly;
    }

    responseBody(b: Buffer): void {
      if (this.swallowed) return;
      if (this.chunkedOut) this.out.push(`${b.length.toString(16)}\r\n`, b, '\r\n');
      else this.out.push(b);
    }

    responseComplete(): void {
      this.conn = undefined; // released to the pool (or dropped) by the connection itself
      if (this.swallowed) {
        retryAfter401(this);
        return;
      }
      if (this.chunkedOut) this.out.push('0\r\n\r\n');
      flush(this);
      done(this);
    }

    flushRead(): void {
      if (this.out.length) flush(this);
    }

    failed(err: unknown): void {
      this.conn = undefined;
      upstreamFailed(this, err);
    }

    drained(): void {
      const c = this.client;
      if (!c.closed && c.queue.length < 2) c.socket.resume();
    }
  }

  function start(ex: Exchange): void {
    const h = ex.head;
    if (h.upgrade) {
      sendError(ex, 501, 'internal', 'gatepass proxy: protocol upgrades and CONNECT are not supported');
      done(ex);
      return;
    }
    const v = policy.route(h.method, h.url, h.headers, ex.client.socket);
    if (v.kind === 'refuse') {
      answerAfterBody(ex, () => sendError(ex, 403, 'forbidden', v.message));
      return;
    }
    if (v.kind === 'health') {
      answerAfterBody(ex, () => sendPlain(ex, 200, v.body));
      return;
    }
    ex.path = v.path;
    if (h.expectContinue && !ex.bodyDone) ex.client.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    obtainToken(ex); // the body (if any) goes out as it arrives: tee(), pump()
  }

  function obtainToken(ex: Exchange): void {
    const t = policy.peekToken();
    if (t) send(ex, t.token);
    else sendWhenToken(ex, () => policy.getToken());
  }

  /** Wait for a token (a login, a refresh), then send — unless the exchange ended meanwhile. */
  function sendWhenToken(ex: Exchange, get: () => Promise<TokenResult>): void {
    ex.phase = Phase.Token;
    tokenWithin(ex.client.socket, get, policy.tokenWaitMs, () => GONE).then(
      (tok) => {
        if (ex.phase === Phase.Token) send(ex, tok.token);
      },
      (err: unknown) => tokenFailed(ex, err),
    );
  }

  function tokenFailed(ex: Exchange, err: unknown): void {
    if (ex.phase === Phase.Done) return;
    if (err === GONE || ex.client.closed) {
      done(ex);
      return;
    }
    const message = policy.tokenFailure(err);
    answerAfterBody(ex, () => sendError(ex, 401, 'auth', message));
  }

  function send(ex: Exchange, token: string): void {
    if (ex.client.closed) {
      done(ex);
      return;
    }
    if (!headerSafe(token)) {
      tokenFailed(
        ex,
        new GatepassError(
          'E_AUTH_FAILED',
          'the token source returned a value that cannot be sent in an HTTP header',
        ),
      );
      return;
    }
    ex.token = token;
    ex.phase = Phase.Upstream;
    ex.swallow401 = !ex.retried401 && ex.bodyMode === 'buffer';
    ex.swallowed = false;
    ex.status = 0;
    const u = acquire(ex);
    ex.conn = u;
    ex.reused = u.reused;
    const streamed = ex.bodyMode === 'stream';
    const h = ex.head;
    const named = h.connectionNamed;
    let head = `${h.method} ${ex.path} HTTP/1.1\r\n${hostLine}`;
    const raw = h.raw;
    const lower = h.lower;
    const kind = h.kind;
    for (let i = 0; i < lower.length; i++) {
      if (kind[i] !== 0 || named?.has(lower[i]!)) continue;
      head += `${raw[2 * i]}: ${raw[2 * i + 1]}\r\n`;
    }
    if (streamed && h.chunked) head += 'transfer-encoding: chunked\r\n';
    else if (h.contentLength !== undefined) head += `content-length: ${h.contentLength}\r\n`;
    head += `authorization: Bearer ${token}\r\n\r\n`;
    const s = u.socket;
    if (!streamed) {
      if (ex.bodyBytes === 0 || ex.bodyBytes + head.length <= SMALL_WRITE) {
        // Head and (small) body in one write: one segment, one syscall.
        const buf = Buffer.allocUnsafe(head.length + ex.bodyBytes);
        let off = buf.write(head, 0, 'latin1');
        for (const b of ex.body) off += b.copy(buf, off);
        s.write(buf);
        ex.sent = ex.body.length;
        u.bodyPending = !ex.bodyDone;
        return;
      }
      ex.sent = 0;
      s.cork();
      s.write(head, 'latin1');
      tee(ex);
      s.uncork();
      return;
    }
    s.write(head, 'latin1');
    pump(ex);
  }

  /**
   * Replayable body: send the recorded pieces the current connection has not had yet (they stay
   * recorded for a retry after a 401 or on a fresh connection).
   */
  function tee(ex: Exchange): void {
    const u = ex.conn;
    if (!u || ex.phase !== Phase.Upstream) return;
    u.last = clock;
    const s = u.socket;
    const body = ex.body;
    let ok = true;
    for (let i = ex.sent; i < body.length; i++) ok = s.write(body[i]!);
    ex.sent = body.length;
    u.bodyPending = !ex.bodyDone;
    if (!ok) ex.client.socket.pause(); // resumed by drained()
  }

  /** Streamed request body: forward what has arrived (chunk-framed when the client chunked it). */
  function pump(ex: Exchange): void {
    const u = ex.conn;
    if (!u || ex.phase !== Phase.Upstream) return;
    u.last = clock;
    const s = u.socket;
    let ok = true;
    const chunked = ex.head.chunked;
    if (chunked) s.cork(); // size line, data, CRLF: one writev, no copy
    for (const b of ex.body) {
      if (chunked) {
        if (b.length) {
          s.write(`${b.length.toString(16)}\r\n`, 'latin1');
          s.write(b);
          ok = s.write(CRLF);
        }
      } else ok = s.write(b);
    }
    ex.body.length = 0;
    ex.bodyBytes = 0;
    if (ex.bodyDone && chunked && !ex.endSent) {
      ex.endSent = true;
      ok = s.write('0\r\n\r\n', 'latin1');
    }
    if (chunked) s.uncork();
    u.bodyPending = !ex.bodyDone || (chunked && !ex.endSent);
    const c = ex.client.socket;
    if (!ok) c.pause();
    else if (c.isPaused() && ex.client.queue.length < 2) c.resume();
  }

  function retryAfter401(ex: Exchange): void {
    policy.debug('proxy: gateway answered 401; refreshing the token and retrying once');
    ex.retried401 = true;
    sendWhenToken(ex, () => policy.replaceToken(ex.token));
  }

  function upstreamFailed(ex: Exchange, err: unknown): void {
    if (ex.phase !== Phase.Upstream) return;
    if (ex.client.closed) {
      done(ex);
      return;
    }
    if (ex.responseStarted) {
      policy.debug(`proxy: upstream failed mid-response (${(err as { code?: string }).code ?? 'error'})`);
      ex.client.socket.destroy();
      done(ex);
      return;
    }
    // A pooled connection the gateway had already closed: nothing was answered, try a fresh one.
    const protocolError = (err as { code?: string }).code === 'E_UPSTREAM_PROTOCOL';
    if (ex.reused && ex.status === 0 && ex.bodyMode === 'buffer' && ex.staleRetries < 2 && !protocolError) {
      ex.staleRetries++;
      send(ex, ex.token);
      return;
    }
    const f = policy.upstreamFailure(err);
    if (ex.bodyMode === 'stream' && !ex.bodyDone) ex.closeAfter = true;
    ex.bodyMode = 'discard';
    sendError(ex, f.status, f.kind, f.message);
    done(ex);
  }

  // ------------------------------------------------------------------ responses to the client

  function writeResponseHead(ex: Exchange, h: Http1Head): void {
    const raw = h.raw;
    const lower = h.lower;
    const named = h.connectionNamed;
    const status = h.status;
    const bodiless = ex.headOnly || status === 204 || status === 304;
    let head = `HTTP/1.1 ${status} ${h.reason || STATUS_TEXT[status] || ''}\r\n`;
    const kind = h.kind;
    for (let i = 0; i < lower.length; i++) {
      if (kind[i] === HOP || named?.has(lower[i]!)) continue;
      if (h.chunked && kind[i] === CLIENT && lower[i] === 'content-length') continue;
      head += `${raw[2 * i]}: ${raw[2 * i + 1]}\r\n`;
    }
    if (!bodiless && (h.chunked || h.contentLength === undefined)) {
      // Unsized (chunked or close-delimited): re-chunk for HTTP/1.1 clients, close-delimit for 1.0.
      if (ex.head.minor === 1) {
        ex.chunkedOut = true;
        head += 'transfer-encoding: chunked\r\n';
      } else ex.closeAfter = true;
    }
    if (ex.closeAfter || stopping) {
      ex.closeAfter = true;
      head += 'connection: close\r\n';
    } else if (ex.head.minor === 0) head += 'connection: keep-alive\r\n';
    ex.responseStarted = true;
    ex.out.push(`${head}\r\n`);
  }

  /** Write the response bytes gathered from one gateway read in one go. */
  function flush(ex: Exchange): void {
    const parts = ex.out;
    const c = ex.client;
    if (c.closed) {
      parts.length = 0;
      return;
    }
    let ok = true;
    const s = c.socket;
    if (parts.length === 1) {
      const p = parts[0]!;
      ok = typeof p === 'string' ? s.write(p, 'latin1') : s.write(p);
    } else {
      let bytes = 0;
      for (const p of parts) bytes += p.length; // strings here are latin1: one byte a character
      if (bytes <= SMALL_WRITE) {
        // Small: one copy into one buffer is cheaper than a writev of many pieces.
        const buf = Buffer.allocUnsafe(bytes);
        let off = 0;
        for (const p of parts) off += typeof p === 'string' ? buf.write(p, off, 'latin1') : p.copy(buf, off);
        ok = s.write(buf);
      } else {
        // Large (chunk size lines, the gateway's reads, CRLFs): one writev, the data never copied.
        s.cork();
        for (const p of parts) ok = typeof p === 'string' ? s.write(p, 'latin1') : s.write(p);
        s.uncork();
      }
    }
    parts.length = 0;
    // A slow client slows the gateway: stop reading it until the client drains.
    const u = ex.conn;
    if (!ok && u && !u.dead && !u.pausedForClient) {
      u.pausedForClient = true;
      u.socket.pause();
      c.socket.once('drain', () => {
        u.pausedForClient = false;
        u.last = clock;
        if (!u.dead) u.socket.resume();
      });
    }
  }

  function sendError(ex: Exchange, status: number, kind: ErrorKind, message: string): void {
    policy.errorLog?.(ex.head.method, ex.head.url, status, message);
    sendPlain(ex, status, policy.errorBody(ex.head.url, ex.head.headers, status, kind, message));
  }

  function sendPlain(ex: Exchange, status: number, body: string): void {
    const c = ex.client;
    ex.status = status;
    if (c.closed || ex.responseStarted) return;
    ex.responseStarted = true;
    if (stopping) ex.closeAfter = true;
    const len = Buffer.byteLength(body);
    const head =
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${len}\r\n` +
      `cache-control: no-store\r\n${ex.closeAfter ? 'connection: close\r\n' : ''}\r\n`;
    c.socket.write(ex.headOnly ? head : head + body, 'utf8');
  }

  /** Answer without forwarding; the body is read and dropped (small) or the connection closes after. */
  function answerAfterBody(ex: Exchange, answer: () => void): void {
    const buffered = ex.bodyMode === 'buffer';
    ex.bodyMode = 'discard';
    ex.body.length = 0;
    if (ex.bodyDone || ex.client.closed) {
      answer();
      done(ex);
      return;
    }
    if (buffered && !ex.head.expectContinue) {
      // Answer now (a client may wait for it before sending its body: a key-less POST is refused
      // at once, as the node engine does); the rest of the body is read and dropped, then the
      // connection goes on. A body that never arrives is cut by the sweeper's body timeout.
      answer();
      ex.phase = Phase.Body;
      ex.pendingAnswer = () => undefined; // finished by the client's onComplete
      return;
    }
    ex.closeAfter = true; // a large or streamed body is not read just to be thrown away
    answer();
    done(ex);
  }

  function done(ex: Exchange): void {
    if (ex.phase === Phase.Done) return;
    ex.phase = Phase.Done;
    const c = ex.client;
    if (ex.conn) {
      ex.conn.drop(); // still busy (the client left, or the answer is ours): not reusable
      ex.conn = undefined;
    }
    policy.accessLog?.(
      ex.head.method,
      ex.head.url.split('?')[0]!,
      ex.responseStarted && !c.closed ? ex.status : 499,
      performance.now() - ex.started,
    );
    if (c.queue[0] === ex) c.queue.shift();
    if (c.closed) return;
    if (ex.closeAfter || (!ex.bodyDone && ex.head.contentLength !== 0)) {
      // Unread request bytes would be parsed as the next request: close instead.
      c.closed = true;
      c.socket.end();
      return;
    }
    const next = c.queue[0];
    if (next) start(next);
    else if (stopping) c.socket.end();
    if (c.socket.isPaused() && c.queue.length < 2) c.socket.resume();
  }

  // ------------------------------------------------------------------ client connections

  class Client implements Http1Handler {
    readonly parser = new Http1Parser('request', this);
    readonly queue: Exchange[] = [];
    closed = false;
    last = clock;
    headStart = 0;
    /**
     * An exchange whose head arrived in the read being parsed, started once the whole read is
     * parsed: the body bytes of the same read then leave with the head in one write (one segment,
     * one syscall) instead of a write for the head and one (tee) for the body.
     */
    private startAfterRead: Exchange | undefined;

    constructor(readonly socket: net.Socket) {
      socket.setNoDelay(true);
      socket.on('data', (d: Buffer) => this.onData(d));
      socket.on('error', () => undefined);
      socket.on('close', () => this.onClose());
      socket.on('end', () => this.onEnd());
    }

    private onData(d: Buffer): void {
      if (this.closed) return;
      this.last = clock;
      if (this.queue.length === 0 && !this.parser.inMessage) this.headStart = clock;
      const err = this.parser.execute(d);
      const ex = this.startAfterRead;
      this.startAfterRead = undefined;
      if (err) this.badRequest(err);
      else if (ex && !this.closed && ex.phase === Phase.Queued) start(ex);
    }

    private badRequest(err: { code: string }): void {
      const status = err.code === 'E_HTTP_HEADER_OVERFLOW' ? 431 : 400;
      policy.debug(`proxy: unparsable request (${err.code})`);
      policy.errorLog?.('-', '-', status, `gatepass proxy: unparsable request (${err.code})`);
      const busyNow = this.queue.some((ex) => ex.responseStarted || ex.phase !== Phase.Queued);
      this.closed = true;
      if (!busyNow) {
        this.socket.end(closingAnswer(status));
      } else this.socket.destroy();
    }

    onHead(h: Http1Head): boolean {
      this.headStart = 0;
      const ex = new Exchange(this, h);
      this.queue.push(ex);
      if (this.queue.length !== 1)
        this.socket.pause(); // pipelined: one at a time
      else if (h.contentLength === 0 || (h.contentLength === undefined && !h.chunked)) start(ex);
      else this.startAfterRead = ex; // with the body bytes of this read: onData
      return false;
    }

    onBody(b: Buffer): void {
      const ex = this.queue[this.queue.length - 1];
      if (!ex || ex.bodyMode === 'discard') return;
      ex.body.push(b);
      ex.bodyBytes += b.length;
      if (ex.bodyMode === 'buffer') {
        if (ex.phase === Phase.Upstream) tee(ex);
      } else if (ex.bodyMode === 'stream') {
        if (ex.phase === Phase.Upstream) pump(ex);
        else if (ex.bodyBytes > STREAM_BUFFER_MAX) this.socket.pause();
      }
    }

    onComplete(): void {
      const ex = this.queue[this.queue.length - 1];
      if (!ex) return;
      ex.bodyDone = true;
      if (ex !== this.queue[0]) return;
      if (ex.phase === Phase.Body) {
        const answer = ex.pendingAnswer;
        if (answer) {
          ex.pendingAnswer = undefined;
          answer();
          done(ex);
        } else obtainToken(ex);
      } else if (ex.bodyMode === 'stream') pump(ex);
      else if (ex.bodyMode === 'buffer') tee(ex);
    }

    /**
     * The client closed its side. With requests in flight that is a client going away (an aborted
     * request: HTTP clients close the connection, they do not half-close and wait), so they are
     * cancelled with their upstream requests, as node:http and nginx do; an idle connection just
     * closes, and a partial request head gets its 400.
     */
    private onEnd(): void {
      if (this.closed) return;
      if (this.queue.length) {
        this.socket.destroy(); // onClose finishes every exchange and drops its upstream connection
        return;
      }
      const err = this.parser.finish();
      if (err) this.badRequest(err);
      else {
        this.closed = true;
        this.socket.end();
      }
    }

    private onClose(): void {
      this.closed = true;
      clients.delete(this);
      for (const ex of this.queue.slice()) {
        // Waiting for a token: that promise settles (GONE) and finishes it.
        if (ex.phase !== Phase.Token) done(ex);
      }
    }
  }

  function accept(socket: net.Socket): void {
    if (stopping) {
      socket.destroy();
      return;
    }
    clients.add(new Client(socket));
    ensureSweeper();
  }

  return {
    accept,
    closeIdle() {
      stopping = true;
      for (const c of clients) if (c.queue.length === 0) c.socket.end();
      pool.closeIdle();
    },
    destroyAll() {
      for (const c of clients) c.socket.destroy();
      pool.destroyAll();
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}

const CRLF = Buffer.from('\r\n');
/** Writes up to this size are gathered into one buffer; larger ones go out as a writev. */
const SMALL_WRITE = 16 * 1024;

/** An empty answer after which the connection closes (requests the parser refused or cut short). */
function closingAnswer(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}
