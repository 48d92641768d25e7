/**
 * One client connection of the wire engine: the request parser (http1.ts) over its reads, its queue of
 * exchanges (pipelined requests are served one at a time, in order), request bodies routed to the
 * exchange that owns them, the 400/431 for an unparsable request, and what a client closing means
 * for the exchanges in flight.
 */
import type net from 'node:net';
import { Exchange } from './exchange.js';
import { done, obtainToken, pump, start, tee } from './forward.js';
import { type Http1Handler, type Http1Head, Http1Parser } from './http1.js';
import { closingAnswer } from './respond.js';
import { type EngineState, Phase, STREAM_BUFFER_MAX } from './state.js';

export class Client implements Http1Handler {
  readonly parser = new Http1Parser('request', this);
  readonly queue: Exchange[] = [];
  closed = false;
  last: number;
  headStart = 0;
  /**
   * An exchange whose head arrived in the read being parsed, started once the whole read is
   * parsed: the body bytes of the same read then leave with the head in one write (one segment,
   * one syscall) instead of a write for the head and one (tee) for the body.
   */
  private startAfterRead: Exchange | undefined;

  constructor(
    readonly engine: EngineState,
    readonly socket: net.Socket,
  ) {
    this.last = engine.clock;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    socket.on('end', () => this.onEnd());
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    const clock = this.engine.clock;
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
    this.engine.clients.delete(this);
    for (const ex of this.queue.slice()) {
      // Waiting for a token: that promise settles (GONE) and finishes it.
      if (ex.phase !== Phase.Token) done(ex);
    }
  }
}
