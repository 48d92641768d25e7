/**
 * The heads the wire engine writes, as bytes: the request head for the gateway and the response head
 * for the client. Each is the head that was read, re-made: its start line and the header lines it
 * forwards are copied as bytes from the buffer the head was read from (a run of consecutive forwarded
 * lines in one copy), and the lines the proxy sets itself are added (the gateway's Host and bearer
 * token, the framing). No string per header and no text encoding on the hot path: building the heads
 * as strings cost a third of the proxy's own CPU per request (bench/README.md, "CPU per request").
 * Which header goes where is the parser's verdict (Http1Head.kind, http1-message.ts; set by http1-head.ts).
 */
import { CLIENT, HOP, type Http1Head } from './http1-message.js';

/** Copy src[a, b) into dst at `off`; returns the offset after it. */
export function put(dst: Buffer, off: number, src: Buffer, a: number, b: number): number {
  const n = b - a;
  // A short run by a loop: cheaper than the typed-array view Buffer#copy makes for each copy.
  if (n < 48) for (let i = 0; i < n; i++) dst[off + i] = src[a + i]!;
  else src.copy(dst, off, a, b);
  return off + n;
}

/** Write `text` (latin1: one byte a character) into dst at `off`; returns the offset after it. */
function putText(dst: Buffer, off: number, text: string): number {
  const n = text.length;
  if (n < 48) for (let i = 0; i < n; i++) dst[off + i] = text.charCodeAt(i);
  else dst.write(text, off, 'latin1');
  return off + n;
}

/** Is header `i` of `h` forwarded? Never a hop-by-hop one; upstream, not the client's own (CLIENT). */
function forwarded(h: Http1Head, i: number, upstream: boolean): boolean {
  const k = h.kind[i];
  if (k === HOP || (upstream && k === CLIENT)) return false;
  const named = h.connectionNamed;
  return named === undefined || !named.has(h.lower[i]!);
}

/** The bytes of the header lines `h` forwards (each with its CRLF). */
function forwardedBytes(h: Http1Head, upstream: boolean): number {
  const lines = h.lines;
  let n = 0;
  for (let i = 0; i < h.kind.length; i++)
    if (forwarded(h, i, upstream)) n += lines[3 * i + 2]! + 2 - lines[3 * i]!;
  return n;
}

/** Copy the header lines `h` forwards into dst at `off`, a run of consecutive ones at a time. */
function putForwarded(dst: Buffer, off: number, h: Http1Head, upstream: boolean): number {
  const lines = h.lines;
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < h.kind.length; i++) {
    if (!forwarded(h, i, upstream)) continue;
    const s = lines[3 * i]!;
    const e = lines[3 * i + 2]! + 2;
    if (s === runEnd) runEnd = e;
    else {
      if (runStart >= 0) off = put(dst, off, h.buf, runStart, runEnd);
      runStart = s;
      runEnd = e;
    }
  }
  return runStart >= 0 ? put(dst, off, h.buf, runStart, runEnd) : off;
}

const TE_CHUNKED = Buffer.from('transfer-encoding: chunked\r\n', 'latin1');
const CONNECTION_CLOSE = Buffer.from('connection: close\r\n', 'latin1');
const CONNECTION_KEEP_ALIVE = Buffer.from('connection: keep-alive\r\n', 'latin1');

/** The Authorization line (and the head's final CRLF) for the last token, encoded once per token. */
let lastToken = '';
let lastAuth = Buffer.alloc(0);
function authorizationLine(token: string): Buffer {
  if (token !== lastToken) {
    lastAuth = Buffer.from(`authorization: Bearer ${token}\r\n\r\n`, 'latin1');
    lastToken = token;
  }
  return lastAuth;
}

/**
 * The request head for the gateway, in a new buffer with `bodyBytes` left free at its end for the
 * body: `method path HTTP/1.1`, the gateway's Host, the client's headers but hop-by-hop ones and its
 * own credentials and Host (Content-Length as sent), `transfer-encoding: chunked` for a chunked body
 * streamed on, and the bearer token.
 */
export function requestHead(
  h: Http1Head,
  path: string,
  hostLine: Buffer,
  token: string,
  chunked: boolean,
  bodyBytes: number,
): Buffer {
  const asSent = h.minor === 1 && path === h.url;
  const startLine = asSent ? h.startLineEnd + 2 - h.start : h.method.length + path.length + 12;
  const auth = authorizationLine(token);
  const size =
    startLine + hostLine.length + forwardedBytes(h, true) + (chunked ? TE_CHUNKED.length : 0) + auth.length;
  const buf = Buffer.allocUnsafe(size + bodyBytes);
  let off: number;
  if (asSent) off = put(buf, 0, h.buf, h.start, h.startLineEnd + 2);
  else off = putText(buf, 0, `${h.method} ${path} HTTP/1.1\r\n`);
  off = put(buf, off, hostLine, 0, hostLine.length);
  off = putForwarded(buf, off, h, true);
  if (chunked) off = put(buf, off, TE_CHUNKED, 0, TE_CHUNKED.length);
  put(buf, off, auth, 0, auth.length);
  return buf;
}

/** Response framing the proxy adds (responseHead's `add`). */
export const ADD_CHUNKED = 1;
export const ADD_CLOSE = 2;
export const ADD_KEEP_ALIVE = 4;

/** The size of the response head responseHead() makes for these arguments. */
export function responseHeadSize(h: Http1Head, add: number, reason: string): number {
  const hasReason = h.reasonAt >= 0 && h.reasonAt < h.startLineEnd;
  return (
    (hasReason ? h.startLineEnd + 2 - h.start : `HTTP/1.1 ${h.status} ${reason}\r\n`.length) +
    forwardedBytes(h, false) +
    (add & ADD_CHUNKED ? TE_CHUNKED.length : 0) +
    (add & ADD_CLOSE ? CONNECTION_CLOSE.length : 0) +
    (add & ADD_KEEP_ALIVE ? CONNECTION_KEEP_ALIVE.length : 0) +
    2
  );
}

/**
 * Write the response head for the client into dst at `off` (responseHeadSize() bytes): `HTTP/1.1`,
 * the gateway's status and reason (`reason` when it sent none), its headers but hop-by-hop ones, and
 * the framing in `add` (ADD_*). Returns the offset after it.
 */
export function putResponseHead(dst: Buffer, off: number, h: Http1Head, add: number, reason: string): number {
  if (h.reasonAt >= 0 && h.reasonAt < h.startLineEnd) {
    // "HTTP/1.x" is 8 bytes: the rest of the gateway's status line is copied after "HTTP/1.1".
    off = putText(dst, off, 'HTTP/1.1');
    off = put(dst, off, h.buf, h.start + 8, h.startLineEnd + 2);
  } else off = putText(dst, off, `HTTP/1.1 ${h.status} ${reason}\r\n`);
  off = putForwarded(dst, off, h, false);
  if (add & ADD_CHUNKED) off = put(dst, off, TE_CHUNKED, 0, TE_CHUNKED.length);
  if (add & ADD_CLOSE) off = put(dst, off, CONNECTION_CLOSE, 0, CONNECTION_CLOSE.length);
  if (add & ADD_KEEP_ALIVE) off = put(dst, off, CONNECTION_KEEP_ALIVE, 0, CONNECTION_KEEP_ALIVE.length);
  dst[off] = 13;
  dst[off + 1] = 10;
  return off + 2;
}

/** The response head for the client in a buffer of its own (putResponseHead). */
export function responseHead(h: Http1Head, add: number, reason: string): Buffer {
  const buf = Buffer.allocUnsafe(responseHeadSize(h, add, reason));
  putResponseHead(buf, 0, h, add, reason);
  return buf;
}
