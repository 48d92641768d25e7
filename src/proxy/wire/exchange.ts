/**
 * One request/response of the wire engine: its fields (body mode and recorded body, token, the
 * upstream connection, what was answered) and the ResponseSink through which its upstream connection
 * (upstream.ts) hands it the gateway's answer. What happens to it is forward.ts' and respond.ts'.
 */
import type { Client } from './client.js';
import { done, retryAfter401, upstreamFailed } from './forward.js';
import type { Http1Head } from './http1.js';
import { flush, writeResponseHead } from './respond.js';
import { chunkSizeLine, Phase } from './state.js';
import type { ResponseSink, Upstream } from './upstream.js';

export class Exchange implements ResponseSink {
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
  readonly started: number;
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
  /** A chunked answer re-chunked for the client: its chunks are passed on as they came (ResponseSink). */
  passChunks = false;
  closeAfter: boolean;
  /** Response bytes produced while parsing one read from the gateway, written as one. */
  out: (string | Buffer)[] = [];
  /** The gateway's response head, to be written first by the next flush (respond.ts), and its framing. */
  headOut: Http1Head | undefined = undefined;
  headAdd = 0;
  /** An answer to send once the (discarded) request body has arrived. */
  pendingAnswer: (() => void) | undefined;
  readonly headOnly: boolean;

  constructor(
    readonly client: Client,
    readonly head: Http1Head,
  ) {
    const policy = client.engine.policy;
    this.started = policy.accessLog ? performance.now() : 0;
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
    if (this.chunkedOut) this.out.push(chunkSizeLine(b.length), b, '\r\n');
    else this.out.push(b);
  }

  responseRaw(b: Buffer): void {
    if (!this.swallowed) this.out.push(b);
  }

  responseChunkLine(size: number): void {
    if (!this.swallowed) this.out.push(chunkSizeLine(size));
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
    if (this.out.length || this.headOut) flush(this);
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
