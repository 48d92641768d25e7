/**
 * What the wire engine writes to the client: the gateway's response head re-framed (hop-by-hop
 * headers dropped, unsized bodies re-chunked for HTTP/1.1 or close-delimited for 1.0), the bytes of
 * one gateway read flushed in one write with the client's backpressure slowing the gateway, and the
 * answers the proxy makes itself (JSON errors, health, the 400/431 before a close).
 */
import type { ErrorKind } from '../dialect.js';
import type { Exchange } from './exchange.js';
import {
  ADD_CHUNKED,
  ADD_CLOSE,
  ADD_KEEP_ALIVE,
  put,
  putResponseHead,
  responseHead,
  responseHeadSize,
} from './heads-out.js';
import type { Http1Head } from './http1.js';
import { owned } from './read-buffer.js';
import { SMALL_WRITE } from './state.js';

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

export function writeResponseHead(ex: Exchange, h: Http1Head): void {
  const status = h.status;
  const bodiless = ex.headOnly || status === 204 || status === 304;
  let add = 0;
  if (!bodiless && (h.chunked || h.contentLength === undefined)) {
    // Unsized (chunked or close-delimited): re-chunk for HTTP/1.1 clients, close-delimit for 1.0.
    if (ex.head.minor === 1) {
      ex.chunkedOut = true;
      ex.passChunks = h.chunked; // the gateway's chunks go on as they are (http1.ts, passChunks)
      add |= ADD_CHUNKED;
    } else ex.closeAfter = true;
  }
  if (ex.closeAfter || ex.client.engine.stopping) {
    ex.closeAfter = true;
    add |= ADD_CLOSE;
  } else if (ex.head.minor === 0) add |= ADD_KEEP_ALIVE;
  ex.responseStarted = true;
  // Written by flush(), into the same buffer as the body bytes of this read when they are few.
  ex.headOut = h;
  ex.headAdd = add;
}

/**
 * Write the response bytes gathered from one gateway read (and the response head, if due) in one go.
 * Bytes still in the shared read buffer are copied before a write holds on to them (read-buffer.ts).
 */
export function flush(ex: Exchange): void {
  const parts = ex.out;
  const c = ex.client;
  const h = ex.headOut;
  ex.headOut = undefined;
  // A new list rather than `length = 0`: V8 sets an array's length through a runtime call, and
  // frees its elements anyway, so the next push allocates them again.
  ex.out = [];
  if (c.closed) return;
  let ok = true;
  const s = c.socket;
  const reason = h === undefined ? '' : (STATUS_TEXT[h.status] ?? '');
  if (h === undefined && parts.length === 1) {
    const p = parts[0]!;
    ok = typeof p === 'string' ? s.write(p, 'latin1') : s.write(owned(p));
  } else {
    let bytes = h === undefined ? 0 : responseHeadSize(h, ex.headAdd, reason);
    for (const p of parts) bytes += p.length; // strings here are latin1: one byte a character
    if (bytes <= SMALL_WRITE) {
      // Small: one copy into one buffer is cheaper than a writev of many pieces.
      const buf = Buffer.allocUnsafe(bytes);
      let off = h === undefined ? 0 : putResponseHead(buf, 0, h, ex.headAdd, reason);
      for (const p of parts)
        off = typeof p === 'string' ? off + buf.write(p, off, 'latin1') : put(buf, off, p, 0, p.length);
      ok = s.write(buf);
    } else {
      // Large (chunk size lines, the gateway's reads, CRLFs): one writev, the data never copied.
      s.cork();
      if (h !== undefined) s.write(responseHead(h, ex.headAdd, reason));
      for (const p of parts) {
        if (typeof p === 'string') s.write(p, 'latin1');
        else s.write(owned(p));
      }
      s.uncork();
      // While corked every write buffers, so each says "wait" past 16 KiB; what counts is what is
      // still waiting once the writev is handed to the socket (usually nothing: no pause, no drain).
      ok = s.writableLength < s.writableHighWaterMark;
    }
  }
  // A slow client slows the gateway: stop reading it until the client drains.
  const u = ex.conn;
  if (!ok && u && !u.dead && !u.pausedForClient) {
    u.pausedForClient = true;
    u.socket.pause();
    c.socket.once('drain', () => {
      u.pausedForClient = false;
      u.last = c.engine.clock;
      if (!u.dead) u.socket.resume();
    });
  }
}

export function sendError(ex: Exchange, status: number, kind: ErrorKind, message: string): void {
  const policy = ex.client.engine.policy;
  policy.errorLog?.(ex.head.method, ex.head.url, status, message);
  sendPlain(ex, status, policy.errorBody(ex.head.url, ex.head.headers, status, kind, message));
}

export function sendPlain(ex: Exchange, status: number, body: string): void {
  const c = ex.client;
  ex.status = status;
  if (c.closed || ex.responseStarted) return;
  ex.responseStarted = true;
  if (c.engine.stopping) ex.closeAfter = true;
  const len = Buffer.byteLength(body);
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${len}\r\n` +
    `cache-control: no-store\r\n${ex.closeAfter ? 'connection: close\r\n' : ''}\r\n`;
  c.socket.write(ex.headOnly ? head : head + body, 'utf8');
}

/** An empty answer after which the connection closes (requests the parser refused or cut short). */
export function closingAnswer(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}
