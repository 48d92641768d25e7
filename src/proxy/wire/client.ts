/**
 * One client connection of the wire engine: the request parser (http1.ts) over its reads, its queue of
 * exchanges (pipelined requests are served one at a time, in order), request bodies routed to the
 * exchange that owns them, the 400/431 for an unparsable request, and what a client closing means
 * for the exchanges in flight. Its reads go into the shared read buffer (adopt.ts, read-buffer.ts):
 * what an exchange keeps of them past the read (its head, its body's pieces) is copied out first.
 */
import type net from 'node:net';
import { adoptReads } from './adopt.js';
import { Exchange } from './exchange.js';
import { done, obtainToken, pump, start, tee } from './forward.js';
import { type Http1Handler, type Http1Head, Http1Parser } from './http1.js';
import { owned, sharedReads } from './read-buffer.js';
import { closingAnswer } from './respond.js';
import { type EngineState, Phase, STREAM_BUFFER_MAX } from './state.js';

/** Bytes read while pipelined requests wait before reading stops (onHead): a stream's buffer. */
const HOLD_MAX = 16 * 1024;

export class Client implements Http1Handler {
  readonly parser = new Http1Parser('request', this);
  readonly queue: Exchange[] = [];
  closed = false;
  last: number;
  headStart = 0;
  /** The socket the client is read from and written to (the accepted one, or adopt.ts' over its handle). */
  readonly socket: net.Socket;
  /** Bytes read while requests were queued behind another (onHead). */
  private heldBytes = 0;
  /**
   * An exchange whose head arrived in the read being parsed, started once the whole read is
   * parsed: the body bytes of the same read then leave with the head in one write (one segment,
   * one syscall) instead of a write for the head and one (tee) for the body.
   */
  private startAfterRead: Exchange | undefined;

  constructor(
    readonly engine: EngineState,
    /** The socket the server accepted: the same-user check's verdict is on it (peer.ts). */
    readonly peer: net.Socket,
  ) {
    this.last = engine.clock;
    const socket =
      adoptReads(
        peer,
        sharedReads((d, n) => this.onData(d, n)),
      ) ?? peer;
    this.socket = socket;
    socket.setNoDelay(true);
    if (socket === peer) {
      socket.on('data', (d: Buffer) => this.onData(d, d.length));
      socket.resume(); // a server's sockets may start paused (pauseOnConnect: front.ts)
    }
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    socket.on('end', () => this.onEnd());
  }

  /** One read: d[0, n). */
  private onData(d: Buffer, n: number): void {
    if (this.closed) return;
    if (this.queue.length > 1) this.heldBytes += n;
    else this.heldBytes = 0;
    const clock = this.engine.clock;
    this.last = clock;
    if (this.queue.length === 0 && !this.parser.inMessage) this.headStart = clock;
    const err = this.parser.execute(d, n);
    const ex = this.startAfterRead;
    this.startAfterRead = undefined;
    if (err) this.badRequest(err);
    else if (ex && !this.closed && ex.phase === Phase.Queued) start(ex);
    if (this.heldBytes > HOLD_MAX && this.queue.length > 1) this.socket.pause(); // onHead
  }

  private badRequest(err: { code: string }): void {
    const status = err.code === 'E_HTTP_HEADER_OVERFLOW' ? 431 : 400;
    const policy = this.engine.policy;
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
    h.own(); // kept by its exchange past this read (a retry builds the gateway's head from it again)
    const ex = new Exchange(this, h);
    this.queue.push(ex);
    if (this.queue.length !== 1) {
      // Pipelined: one at a time. A paused stream still reads into its buffer (16 KiB): how a
      // client that goes away meanwhile is seen (onEnd). onread's pause stops reading at once
      // (adopt.ts), so that one stops only once as much has come since (onData).
      if (this.socket === this.peer) this.socket.pause();
    } else if (h.contentLength === 0 || (h.contentLength === undefined && !h.chunked)) start(ex);
    else this.startAfterRead = ex; // with the body bytes of this read: onData
    return false;
  }

  onBody(b: Buffer): void {
    const ex = this.queue[this.queue.length - 1];
    if (!ex || ex.bodyMode === 'discard') return;
    b = owned(b); // recorded for a replay, or held by a socket write the gateway has not taken yet
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
    this.engine.clients.delete(this);
    for (const ex of this.queue.slice()) {
      // Waiting for a token: that promise settles (GONE) and finishes it.
      if (ex.phase !== Phase.Token) done(ex);
    }
  }
}
