/**
 * The node engine's replayable request body (a known length within the replay bound), forwarded to
 * the gateway as it arrives and recorded meanwhile, so a 401 can be answered by a replay without
 * making the first attempt wait for the whole upload. open() gives the stream for one attempt: the
 * bytes recorded so far, then the rest as it arrives; a replay after a 401 opens a new one (the
 * previous stream stops taking bytes, the record goes on).
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { ProxyError } from '../../errors.js';

export class BodyTee {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private out: PassThrough | undefined;

  constructor(
    private readonly req: IncomingMessage,
    limit: number,
  ) {
    req.on('data', (c: Buffer) => {
      this.size += c.length;
      if (this.size > limit) {
        this.out?.destroy(new ProxyError('E_PROXY', 'request body larger than announced'));
        req.destroy();
        return;
      }
      this.chunks.push(c);
      const s = this.out;
      if (s && !s.destroyed && !s.write(c)) req.pause(); // resumed on drain (or close)
    });
    req.on('end', () => {
      this.ended = true;
      this.out?.end();
    });
    req.on('aborted', () => this.out?.destroy(new ProxyError('E_PROXY', 'client aborted')));
  }

  open(): PassThrough {
    this.close();
    const s = new PassThrough();
    s.on('error', () => undefined); // a client gone: the forward's own failure reports it
    s.on('drain', () => this.req.resume());
    s.on('close', () => this.req.resume());
    for (const c of this.chunks) s.write(c);
    if (this.ended) s.end();
    this.out = s;
    return s;
  }

  /** The current stream takes no more bytes (an answer came, or the client left). */
  close(): void {
    this.out?.destroy();
    this.out = undefined;
  }
}
