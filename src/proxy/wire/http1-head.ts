/**
 * The message head of the wire engine's HTTP/1.1 parser (http1.ts): the grammar's byte tables and
 * the one-pass head parser with its framing rules (Content-Length, Transfer-Encoding,
 * Connection, upgrades), which is where the request-smuggling cases are refused. Hand-written for the
 * same reason as the parser (http1.ts): one pass over the bytes of the proxy's hot path, strict where a
 * lenient parser would guess. A head keeps where each of its lines is in the bytes it was read from
 * (no string per header: heads-out.ts copies the lines it forwards as bytes); only the values the
 * proxy decides on become strings. The head's type and the scratch state it is parsed with are
 * http1-message.ts'.
 */
import {
  CLIENT,
  fail,
  type HeadScratch,
  HOP,
  Http1Error,
  Http1Head,
  type InterestingHeaders,
  LENGTH,
  type Recent,
  type RecentValues,
  valueEnd,
  valueStart,
} from './http1-message.js';

export { CLIENT, fail, type HeadScratch, HOP, Http1Error, Http1Head, LENGTH } from './http1-message.js';

/** tchar (RFC 9110 §5.6.2): what a header name is made of. */
const TCHAR = new Uint8Array(256);
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[ch.charCodeAt(0)] = 1;

/** Is text[0, end) a non-empty token (a header name)? */
export function isToken(text: string, end: number): boolean {
  if (end <= 0) return false;
  for (let i = 0; i < end; i++) if (TCHAR[text.charCodeAt(i)] !== 1) return false;
  return true;
}
/** Bytes allowed in a start line and a field value: HTAB, SP, VCHAR, obs-text. */
const FIELD_BYTE = new Uint8Array(256);
FIELD_BYTE[9] = 1;
for (let i = 0x20; i < 0x7f; i++) FIELD_BYTE[i] = 1;
for (let i = 0x80; i < 0x100; i++) FIELD_BYTE[i] = 1;

/** Does buf[at, at + name.length) spell `name` (lower-case letters, digits, '-'), in any case? */
function is(buf: Buffer, at: number, name: string): boolean {
  // OR 0x20 folds A-Z onto a-z; on the other bytes a name or value may hold it maps nothing onto
  // a letter, '-' or a digit except control bytes, which the grammar has already refused.
  for (let i = 0; i < name.length; i++) if ((buf[at + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** Does buf[at, at + text.length) hold exactly `text`? */
function same(buf: Buffer, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The methods llhttp (node:http) knows that an API proxy has any use for; anything else is refused. */
const METHODS_BY_LENGTH: string[][] = [
  [],
  [],
  [],
  ['GET', 'PUT'],
  ['HEAD', 'POST'],
  ['PATCH', 'TRACE'],
  ['DELETE'],
  ['OPTIONS', 'CONNECT'],
];

/**
 * Parse the head that starts at data[start], in one pass over the bytes up to `limit` at most: every
 * byte checked against the grammar's tables, line ends must be CRLF, header names tokens. The pass
 * also finds where the head ends (its empty line): undefined when it has not arrived yet (bytes
 * that can never make a valid head are refused at once all the same).
 */
export function parseHead(p: HeadScratch, data: Buffer, start: number, limit: number): Http1Head | undefined {
  const head = new Http1Head(data, start);
  let i = start;
  let c = 0;
  for (; i < limit; i++) {
    c = data[i]!;
    if (c === 13) break;
    if (FIELD_BYTE[c] !== 1) throw fail('invalid byte in message head');
  }
  if (i + 1 >= limit) return incomplete(p); // the line end has not arrived
  if (data[i + 1] !== 10) throw fail('bare CR in message head');
  head.startLineEnd = i;
  if (p.kind === 'request') requestLine(head, data, start, i, p.recent);
  else statusLine(head, data, start, i);
  const lines = head.lines;
  const kinds = head.kind;
  // One header line per turn: its name up to the colon, then its value up to the CR.
  for (i += 2; i + 1 < limit; i += 2) {
    const lineStart = i;
    c = data[i]!;
    if (c === 13) {
      if (data[i + 1] !== 10) throw fail('bare CR in message head');
      head.bodyStart = i + 2; // the empty line: the head is complete
      return framing(p, head);
    }
    while (c !== 58) {
      if (TCHAR[c] !== 1) throw fail(c === 13 ? 'bad header line' : 'bad header name');
      if (++i >= limit) return incomplete(p);
      c = data[i]!;
    }
    if (i === lineStart) throw fail('bad header line');
    const colon = i;
    for (i++; i < limit; i++) {
      c = data[i]!;
      if (c === 13) break;
      if (FIELD_BYTE[c] !== 1) throw fail('invalid byte in message head');
    }
    if (i + 1 >= limit) return incomplete(p);
    if (data[i + 1] !== 10) throw fail('bare CR in message head');
    lines.push(lineStart, colon, i);
    kinds.push(classify(p, head, data, lineStart, colon, i));
  }
  return incomplete(p);
}

/** The head has not all arrived: forget what was collected (it is parsed again once it has). */
function incomplete(p: HeadScratch): undefined {
  resetScratch(p);
  return undefined;
}

/**
 * Check the bytes data[from, to) of a head still arriving, whose earlier bytes were checked already:
 * each byte must be allowed in a head, CR and LF only as pairs. Each byte is checked once however
 * the head is cut into reads (parseHead runs again only once the empty line has arrived).
 */
export function checkHeadBytes(data: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const c = data[i]!;
    if (c === 13) {
      if (i + 1 < to && data[i + 1] !== 10) throw fail('bare CR in message head');
    } else if (c === 10) {
      if (data[i - 1] !== 13) throw fail('bare LF in message head');
    } else if (FIELD_BYTE[c] !== 1) throw fail('invalid byte in message head');
  }
}

/** `METHOD SP request-target SP HTTP/1.x` in data[s, e) (its bytes already checked as field bytes). */
function requestLine(
  head: Http1Head,
  data: Buffer,
  s: number,
  e: number,
  recent: RecentValues | undefined,
): void {
  let sp = s;
  while (sp < e && data[sp] !== 32) sp++;
  let method: string | undefined;
  for (const m of METHODS_BY_LENGTH[sp - s] ?? []) if (same(data, s, m)) method = m;
  if (method === undefined) throw fail('bad request line');
  const u = sp + 1;
  let v = u;
  for (; v < e && data[v] !== 32; v++) if (data[v]! < 0x21) throw fail('bad request line');
  if (v === u || e - v !== 9 || !same(data, v + 1, 'HTTP/1.')) throw fail('bad request line');
  const minor = data[e - 1]! - 48;
  if (minor !== 0 && minor !== 1) throw fail('bad request line');
  head.method = method;
  head.url = value(recent?.url, data, u, v);
  head.minor = minor;
}

/** `HTTP/1.x SP 3DIGIT [SP reason]` in data[s, e). */
function statusLine(head: Http1Head, data: Buffer, s: number, e: number): void {
  const minor = data[s + 7]! - 48;
  const d0 = data[s + 9]! - 48;
  const d1 = data[s + 10]! - 48;
  const d2 = data[s + 11]! - 48;
  if (
    e - s < 12 ||
    !same(data, s, 'HTTP/1.') ||
    (minor !== 0 && minor !== 1) ||
    data[s + 8] !== 32 ||
    !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
    (e - s > 12 && data[s + 12] !== 32)
  )
    throw fail('bad status line');
  head.minor = minor;
  head.status = d0 * 100 + d1 * 10 + d2;
  if (e - s > 12) head.reasonAt = s + 13;
}

/**
 * Classify the header in data[s, e) (name up to `colon`) as HOP, CLIENT, LENGTH or 0, recording what
 * the proxy decides on; dispatched on the name's length first: most headers are none of these.
 */
function classify(
  p: HeadScratch,
  head: Http1Head,
  data: Buffer,
  s: number,
  colon: number,
  e: number,
): number {
  const a = valueStart(data, colon + 1, e);
  const b = valueEnd(data, a, e);
  const h = head.headers as InterestingHeaders;
  const recent = p.recent;
  switch (colon - s) {
    case 2:
      return is(data, s, 'te') ? HOP : 0;
    case 4:
      if (!is(data, s, 'host')) return 0;
      h.host ??= value(recent?.host, data, a, b);
      return CLIENT;
    case 6:
      if (is(data, s, 'origin')) h.origin ??= data.toString('latin1', a, b);
      else if (is(data, s, 'expect')) {
        // HTTP/1.0 clients do not get 1xx answers (RFC 9110 §15.2): see framing().
        if (b - a === 12 && is(data, a, '100-continue')) p.expectContinue = true;
        return CLIENT;
      }
      return 0;
    case 7:
      if (is(data, s, 'upgrade')) {
        p.upgradeHeader = true;
        return HOP;
      }
      return is(data, s, 'trailer') ? HOP : 0;
    case 9:
      if (!is(data, s, 'x-api-key')) return 0;
      h['x-api-key'] ??= value(recent?.apiKey, data, a, b);
      return CLIENT;
    case 10:
      if (is(data, s, 'connection')) {
        connection(p, data, a, b);
        return HOP;
      }
      return is(data, s, 'keep-alive') ? HOP : 0;
    case 13:
      if (!is(data, s, 'authorization')) return 0;
      h.authorization ??= value(recent?.authorization, data, a, b);
      return CLIENT;
    case 14:
      if (is(data, s, 'content-length')) {
        head.contentLength = contentLength(head, data, a, b);
        return LENGTH;
      }
      if (is(data, s, 'sec-fetch-site')) h['sec-fetch-site'] ??= data.toString('latin1', a, b);
      else if (is(data, s, 'x-goog-api-key')) {
        h['x-goog-api-key'] ??= data.toString('latin1', a, b);
        return CLIENT;
      }
      return 0;
    case 16:
      return is(data, s, 'proxy-connection') ? HOP : 0;
    case 17:
      if (is(data, s, 'anthropic-version')) h['anthropic-version'] ??= value(recent?.version, data, a, b);
      else if (is(data, s, 'transfer-encoding')) {
        const v = b - a === 7 && is(data, a, 'chunked') ? 'chunked' : data.toString('latin1', a, b);
        p.teValue = p.teValue === undefined ? v : `${p.teValue}, ${v}`;
        return HOP;
      }
      return 0;
    case 18:
      return is(data, s, 'proxy-authenticate') ? HOP : 0;
    case 19:
      return is(data, s, 'proxy-authorization') ? HOP : 0;
    case 20:
      // The control challenge of `proxy stop|status` (health endpoint): gatepass' own, not forwarded.
      if (!is(data, s, 'x-gatepass-challenge')) return 0;
      h['x-gatepass-challenge'] ??= data.toString('latin1', a, b);
      return CLIENT;
  }
  return 0;
}

/** data[a, b) as latin1 text, through the connection's Recent for this value when there is one. */
function value(recent: Recent | undefined, data: Buffer, a: number, b: number): string {
  return recent === undefined ? data.toString('latin1', a, b) : recent.get(data, a, b);
}

/** Content-Length: 1 to 15 digits, once. */
function contentLength(head: Http1Head, data: Buffer, a: number, b: number): number {
  if (head.contentLength !== undefined || b - a < 1 || b - a > 15)
    throw fail('bad or repeated Content-Length');
  let n = 0;
  for (let i = a; i < b; i++) {
    const d = data[i]! - 48;
    if (d < 0 || d > 9) throw fail('bad or repeated Content-Length');
    n = n * 10 + d;
  }
  return n;
}

/** One Connection field value: the usual lone `keep-alive` or `close` as flags, anything else as text. */
function connection(p: HeadScratch, data: Buffer, a: number, b: number): void {
  if (b - a === 10 && is(data, a, 'keep-alive')) p.connectionKeepAlive = true;
  else if (b - a === 5 && is(data, a, 'close')) p.connectionClose = true;
  else {
    const v = data.toString('latin1', a, b).toLowerCase();
    p.connectionValue = p.connectionValue ? `${p.connectionValue},${v}` : v;
  }
}

/** Forget what classify() collected (after each head, complete or not). */
function resetScratch(p: HeadScratch): void {
  p.teValue = undefined;
  p.connectionValue = '';
  p.connectionClose = false;
  p.connectionKeepAlive = false;
  p.upgradeHeader = false;
  p.expectContinue = false;
}

/** Body framing and persistence, from the headers collected by classify(). */
function framing(p: HeadScratch, head: Http1Head): Http1Head {
  const te = p.teValue;
  const connectionValue = p.connectionValue;
  let close = p.connectionClose;
  let keepAlive = p.connectionKeepAlive;
  const upgradeHeader = p.upgradeHeader;
  head.expectContinue = p.expectContinue && head.minor === 1;
  resetScratch(p);
  if (te !== undefined) transferCoding(p, head, te);
  if (connectionValue) {
    for (const raw of connectionValue.split(',')) {
      const t = raw.trim();
      if (t === 'close') close = true;
      else if (t === 'keep-alive') keepAlive = true;
      else if (t) {
        head.connectionNamed ??= new Set();
        head.connectionNamed.add(t);
      }
    }
    if (upgradeHeader && head.connectionNamed?.has('upgrade')) head.upgrade = true;
  }
  if (close) head.keepAlive = false;
  else if (head.minor === 0) head.keepAlive = keepAlive;
  if (p.kind === 'request' && head.method === 'CONNECT') head.upgrade = true;
  if (p.kind === 'response' && !head.chunked && head.contentLength === undefined) {
    const status = head.status;
    if (status >= 200 && status !== 204 && status !== 304) head.keepAlive = false;
  }
  return head;
}

/** Transfer-Encoding: only chunked in a request; in a response, chunked last or a close-delimited body. */
function transferCoding(p: HeadScratch, head: Http1Head, te: string): void {
  if (head.contentLength !== undefined) {
    throw new Http1Error('E_HTTP_TRANSFER_ENCODING', 'Transfer-Encoding together with Content-Length');
  }
  if (te === 'chunked') {
    head.chunked = true;
    return;
  }
  const codings = te
    .toLowerCase()
    .split(',')
    .map((s) => s.trim());
  const last = codings[codings.length - 1];
  if (p.kind === 'request') {
    if (codings.length !== 1 || last !== 'chunked') {
      throw new Http1Error('E_HTTP_TRANSFER_ENCODING', 'unsupported Transfer-Encoding (only chunked)');
    }
    head.chunked = true;
  } else if (last === 'chunked') {
    if (codings.indexOf('chunked') !== codings.length - 1) throw fail('chunked applied twice');
    head.chunked = true;
  }
  // A response with another final coding is delimited by the connection closing.
  else head.keepAlive = false;
}
