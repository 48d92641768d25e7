/**
 * One connection from the wire engine to the gateway, and its response reader (the strict parser in
 * http1.ts). It is as strict with the gateway as the engine is with clients:
 * - a connection serves one response at a time; bytes after a complete response (in the same read,
 *   or arriving while it is idle) make it unusable: it is dropped, never handed to the next request;
 * - interim answers: 100 and 103 are skipped (the client gets the final answer only); any other 1xx
 *   (101 Switching Protocols to a request that asked for no upgrade, 102) fails the request (502);
 * - the gateway closing before the response is complete fails it; a close-delimited body ends there.
 * A plain-HTTP connection reads with net.connect's `onread` into the buffer read-buffer.ts keeps
 * (shared by all of them while reads are small; each read parsed to its end before the next), a TLS
 * one through its stream. What to do with a response is the owner's (`ResponseSink`, the engine's
 * exchange); keeping idle connections is the pool's (pool.ts).
 */
import net from 'node:net';
import { builtin } from '../../util/builtin.js';
import { type Http1Handler, type Http1Head, Http1Parser } from './http1.js';
import { sharedReads } from './read-buffer.js';

export class WireError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where the gateway is and how to reach it. */
export interface UpstreamTarget {
  secure: boolean;
  /** Host name or IP (no brackets). */
  host: string;
  port: number;
  tls?: { ca?: string[]; rejectUnauthorized: boolean } | undefined;
  connectTimeoutMs: number;
}

/** The request a connection currently serves: what it does with the response. */
export interface ResponseSink {
  /** A final (≥ 200) response head; return true when the response has no body (the answer to HEAD). */
  responseHead(h: Http1Head): boolean;
  /**
   * Body bytes. They (and a head's bytes) may be in the shared read buffer (read-buffer.ts): valid
   * until flushRead() returns, so anything kept past it is a copy (`owned()`).
   */
  responseBody(b: Buffer): void;
  /**
   * A chunked answer re-framed for the client: passed on with the gateway's own framing instead
   * (responseRaw: runs of its chunks as read, responseChunkLine: a plain size line in place of one
   * with an extension); the sink ends it. Valid as responseBody's bytes are.
   */
  readonly passChunks: boolean;
  responseRaw(b: Buffer): void;
  responseChunkLine(size: number): void;
  /** The response is complete (the connection has been released or dropped already). */
  responseComplete(): void;
  /** One read from the gateway was parsed: write what it produced. */
  flushRead(): void;
  /** The connection failed before the response completed. */
  failed(err: unknown): void;
  /** The request body written so far has left (a streamed body may go on). */
  drained(): void;
}

/** What a connection tells the pool that owns it. */
export interface PoolHooks {
  /** The coarse clock (ms) the engine's sweeper refreshes. */
  now(): number;
  /** The connection finished a response and may be reused. */
  released(u: Upstream): void;
  /** The connection is closed for good. */
  dropped(u: Upstream): void;
}

export class Upstream implements Http1Handler {
  readonly socket: net.Socket;
  readonly parser = new Http1Parser('response', this);
  owner: ResponseSink | undefined;
  /** Came from the pool (the gateway may have closed it meanwhile). */
  reused = false;
  dead = false;
  last: number;
  /** Reading stopped because the client is slow: not the gateway's silence (no timeout). */
  pausedForClient = false;
  /**
   * The request body is still being written: a response that completes meanwhile (a 401 sent before
   * reading the body) leaves the connection mid-request, so it is dropped, not reused.
   */
  bodyPending = false;
  /** The status of the response being read (0 before its final head). */
  status = 0;
  private keepAlive = true;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Inside parser.execute(): a completed response is released only once the whole read is parsed. */
  private reading = false;
  private releaseAfterRead = false;
  /** Bytes that belong to no request arrived: never reuse this connection. */
  private tainted = false;

  constructor(
    target: UpstreamTarget,
    private readonly pool: PoolHooks,
  ) {
    this.last = pool.now();
    const { host, port, secure } = target;
    const socket = secure
      ? // node:tls loaded on the first https connection: a proxy for an http gateway (a local one, the
        // bench's) never loads it, and an idle proxy holds ~0.3 MiB less until its first request.
        builtin('node:tls').connect({
          host,
          port,
          ...(net.isIP(host) ? {} : { servername: host }),
          ALPNProtocols: ['http/1.1'],
          ...(target.tls
            ? {
                rejectUnauthorized: target.tls.rejectUnauthorized,
                ...(target.tls.ca ? { ca: target.tls.ca } : {}),
              }
            : {}),
        })
      : // Plain HTTP: reads go straight to the parser, into the shared buffer (read-buffer.ts).
        net.connect({
          host,
          port,
          onread: sharedReads((d, n) => this.onData(d, n)),
        });
    this.socket = socket;
    socket.setNoDelay(true);
    this.connectTimer = setTimeout(
      () => this.fault(new WireError('UND_ERR_CONNECT_TIMEOUT', 'connecting to the gateway timed out')),
      target.connectTimeoutMs,
    );
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    });
    if (secure) socket.on('data', (d: Buffer) => this.onData(d, d.length));
    socket.on('error', (err) => this.fault(err));
    socket.on('end', () => this.onEnd());
    socket.on('close', () =>
      this.fault(new WireError('UND_ERR_SOCKET', 'the gateway closed the connection')),
    );
    socket.on('drain', () => this.owner?.drained());
  }

  /** Start serving `owner` (a fresh connection, or one from the pool). */
  assign(owner: ResponseSink): void {
    this.owner = owner;
    this.status = 0;
    this.bodyPending = false;
    this.keepAlive = true;
    this.last = this.pool.now();
  }

  /** One read: d[0, n). */
  private onData(d: Buffer, n: number): void {
    const owner = this.owner;
    if (!owner) {
      this.drop(); // bytes nobody asked for
      return;
    }
    this.last = this.pool.now();
    this.reading = true;
    const err = this.parser.execute(d, n);
    this.reading = false;
    owner.flushRead();
    if (err) {
      this.fault(err);
      return;
    }
    if (this.releaseAfterRead) {
      this.releaseAfterRead = false;
      // Anything after the response in the same read (a second response, a partial head): unusable.
      if (this.tainted || this.parser.inMessage || this.dead) this.drop();
      else this.pool.released(this);
    }
  }

  /** A body delimited by the connection closing ends here; any other message is cut short. */
  private onEnd(): void {
    const owner = this.owner;
    if (owner) {
      const err = this.parser.finish();
      if (owner === this.owner)
        this.fault(err ?? new WireError('UND_ERR_SOCKET', 'the gateway closed the connection'));
      else owner.flushRead();
    }
    this.drop();
  }

  fault(err: unknown): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const owner = this.owner;
    this.drop();
    owner?.failed(err);
  }

  /** Close for good (the owner, if any, is detached without being told). */
  drop(): void {
    this.owner = undefined;
    this.releaseAfterRead = false;
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.pool.dropped(this);
  }

  onHead(h: Http1Head): boolean {
    const owner = this.owner;
    if (!owner) {
      this.tainted = true; // a response after the one asked for
      return true;
    }
    if (h.status < 200) {
      if (h.status === 100 || h.status === 103) return true; // the client gets the final answer only
      // 101 to a request that asked for no upgrade (the proxy forwards none), or 102: the bytes that
      // follow are not HTTP the engine can frame; fail now instead of waiting for them.
      this.status = h.status;
      this.fault(new WireError('E_UPSTREAM_PROTOCOL', `the gateway answered ${h.status} to a plain request`));
      return true;
    }
    this.status = h.status;
    this.keepAlive = h.keepAlive;
    return owner.responseHead(h);
  }

  onBody(b: Buffer): void {
    this.owner?.responseBody(b);
  }

  passChunks(): boolean {
    return this.owner?.passChunks === true;
  }

  onRawChunks(data: Buffer, start: number, end: number): void {
    this.owner?.responseRaw(data.subarray(start, end));
  }

  onChunkLine(size: number): void {
    this.owner?.responseChunkLine(size);
  }

  onComplete(): void {
    const owner = this.owner;
    if (!owner || this.status === 0) return; // the end of a 100/103
    this.owner = undefined;
    if (!this.keepAlive || this.bodyPending) this.drop();
    else if (this.reading) this.releaseAfterRead = true;
    else this.pool.released(this);
    owner.responseComplete();
  }
}
