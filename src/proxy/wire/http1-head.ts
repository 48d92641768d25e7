/**
 * The message head of the wire engine's HTTP/1.1 parser (http1.ts): the Http1Head type, the grammar's
 * byte tables, and the one-pass head parser with its framing rules (Content-Length, Transfer-Encoding,
 * Connection, upgrades), which is where the request-smuggling cases are refused. Hand-written for the
 * same reason as the parser (http1.ts): one pass over the bytes of the proxy's hot path, strict where a
 * lenient parser would guess. The per-head scratch state lives on the parser (HeadScratch).
 */

export interface Http1Head {
  /** Requests: the method and request-target as sent. */
  method: string;
  url: string;
  /** Responses: status code and reason phrase. */
  status: number;
  reason: string;
  /** 0 or 1 (HTTP/1.0 or HTTP/1.1). */
  minor: number;
  /** [name, value, …] in order and case as received (values trimmed of surrounding blanks). */
  raw: string[];
  /** The lower-cased name of each pair in `raw` (raw[2i] → lower[i]). */
  lower: string[];
  /**
   * Per header (same index as `lower`): HOP (hop-by-hop, never forwarded either way), CLIENT (the
   * client's credentials and request framing: not forwarded upstream), or 0.
   */
  kind: number[];
  /**
   * First value of each header the proxy decides on (the guard, the dialect, framing and hop-by-hop
   * handling: see InterestingHeaders), by lower-cased name. Other headers are only in `raw`.
   */
  headers: Record<string, string>;
  /** Body framing. */
  contentLength: number | undefined;
  chunked: boolean;
  /** Header names listed in Connection (other than close/keep-alive): hop-by-hop for this message. */
  connectionNamed: Set<string> | undefined;
  /** Persistent connection after this message (HTTP/1.1 default, or 1.0 with keep-alive). */
  keepAlive: boolean;
  /** CONNECT or a protocol upgrade: parsing stops after the head. */
  upgrade: boolean;
  /** `Expect: 100-continue`. */
  expectContinue: boolean;
}

export class Http1Error extends Error {
  constructor(
    readonly code:
      | 'E_HTTP_HEADER_OVERFLOW'
      | 'E_HTTP_PARSE'
      | 'E_HTTP_TRANSFER_ENCODING'
      | 'E_HTTP_TRUNCATED',
    message: string,
  ) {
    super(message);
    this.name = 'Http1Error';
  }
}

/** Header kinds (Http1Head.kind). */
export const HOP = 1;
export const CLIENT = 2;

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
type InterestingHeaders = Record<
  | 'host'
  | 'origin'
  | 'sec-fetch-site'
  | 'authorization'
  | 'x-api-key'
  | 'x-goog-api-key'
  | 'anthropic-version'
  | 'content-length'
  | 'transfer-encoding'
  | 'connection'
  | 'upgrade'
  | 'expect'
  | 'x-gatepass-challenge',
  string | undefined
>;

/** One object shape for every head's headers (fast, monomorphic lookups in the guard). */
function newHeaders(): Record<string, string> {
  const h: InterestingHeaders = {
    host: undefined,
    origin: undefined,
    'sec-fetch-site': undefined,
    authorization: undefined,
    'x-api-key': undefined,
    'x-goog-api-key': undefined,
    'anthropic-version': undefined,
    'content-length': undefined,
    'transfer-encoding': undefined,
    connection: undefined,
    upgrade: undefined,
    expect: undefined,
    'x-gatepass-challenge': undefined,
  };
  return h as Record<string, string>;
}

/** The methods llhttp (node:http) knows that an API proxy has any use for; anything else is refused. */
const REQUEST_LINE =
  /^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|TRACE|CONNECT) ([\x21-\x7e\x80-\xff]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

const DIGITS = /^\d{1,15}$/;

export function fail(message: string): Http1Error {
  return new Http1Error('E_HTTP_PARSE', message);
}

/** What parsing one head needs from its parser: the message kind, and what interesting() collects for framing(). */
export interface HeadScratch {
  readonly kind: 'request' | 'response';
  teValue: string | undefined;
  connectionValue: string;
  upgradeHeader: boolean;
  expectContinue: boolean;
}

/**
 * Parse the head in data[start, end) (without its final CRLFCRLF) in one pass over the bytes:
 * every byte checked against the grammar's tables, line ends must be CRLF, header names tokens.
 */
export function parseHead(p: HeadScratch, data: Buffer, start: number, end: number): Http1Head {
  const text = data.toString('latin1', start, end);
  const head: Http1Head = {
    method: '',
    url: '',
    status: 0,
    reason: '',
    minor: 1,
    raw: [],
    lower: [],
    kind: [],
    headers: newHeaders(),
    contentLength: undefined,
    chunked: false,
    keepAlive: true,
    connectionNamed: undefined,
    upgrade: false,
    expectContinue: false,
  };
  const raw = head.raw;
  const lowerNames = head.lower;
  let lineStart = start;
  let colon = -1; // -1: in the start line; 0: in a header name; > 0: the colon's offset
  let startLine = '';
  for (let i = start; i <= end; i++) {
    const c = i < end ? data[i]! : 13;
    if (c === 13) {
      if (i < end && data[i + 1] !== 10) throw fail('bare CR in message head');
      if (colon < 0) startLine = text.slice(0, i - start);
      else {
        if (colon <= lineStart) throw fail('bad header line');
        const name = text.slice(lineStart - start, colon - start);
        let a = colon + 1;
        let b = i;
        while (a < b && (data[a] === 32 || data[a] === 9)) a++;
        while (b > a && (data[b - 1] === 32 || data[b - 1] === 9)) b--;
        const value = text.slice(a - start, b - start);
        raw.push(name, value);
        const lower = name.toLowerCase();
        lowerNames.push(lower);
        head.kind.push(interesting(p, head, lower, value));
      }
      i++;
      lineStart = i + 1;
      colon = 0;
    } else if (colon === 0) {
      if (c === 58) colon = i;
      else if (TCHAR[c] !== 1) throw fail('bad header name');
    } else if (FIELD_BYTE[c] !== 1) throw fail('invalid byte in message head');
  }
  if (p.kind === 'request') {
    const m = REQUEST_LINE.exec(startLine);
    if (!m) throw fail('bad request line');
    head.method = m[1]!;
    head.url = m[2]!;
    head.minor = m[3] === '0' ? 0 : 1;
  } else {
    const m = STATUS_LINE.exec(startLine);
    if (!m) throw fail('bad status line');
    head.minor = m[1] === '0' ? 0 : 1;
    head.status = Number(m[2]);
    head.reason = m[3] ?? '';
  }
  return framing(p, head);
}

/**
 * Record a header the proxy decides on and classify it (HOP, CLIENT or 0), dispatching on the
 * name's length first: most headers are none of these.
 */
function interesting(p: HeadScratch, head: Http1Head, lower: string, value: string): number {
  const h = head.headers as InterestingHeaders;
  switch (lower.length) {
    case 2:
      return lower === 'te' ? HOP : 0;
    case 4:
      if (lower !== 'host') return 0;
      h.host ??= value;
      return CLIENT;
    case 6:
      if (lower === 'origin') h.origin ??= value;
      else if (lower === 'expect') {
        h.expect ??= value;
        // HTTP/1.0 clients do not get 1xx answers (RFC 9110 §15.2): see framing().
        if (value.toLowerCase() === '100-continue') p.expectContinue = true;
        return CLIENT;
      }
      return 0;
    case 7:
      if (lower === 'upgrade') {
        h.upgrade ??= value;
        p.upgradeHeader = true;
        return HOP;
      }
      return lower === 'trailer' ? HOP : 0;
    case 9:
      if (lower !== 'x-api-key') return 0;
      h['x-api-key'] ??= value;
      return CLIENT;
    case 10:
      if (lower === 'connection') {
        h.connection ??= value;
        const v = value.toLowerCase();
        p.connectionValue = p.connectionValue ? `${p.connectionValue},${v}` : v;
        return HOP;
      }
      return lower === 'keep-alive' ? HOP : 0;
    case 13:
      if (lower !== 'authorization') return 0;
      h.authorization ??= value;
      return CLIENT;
    case 14:
      if (lower === 'content-length') {
        if (head.contentLength !== undefined || !DIGITS.test(value))
          throw fail('bad or repeated Content-Length');
        h['content-length'] = value;
        head.contentLength = Number(value);
        return CLIENT;
      }
      if (lower === 'sec-fetch-site') h['sec-fetch-site'] ??= value;
      else if (lower === 'x-goog-api-key') {
        h['x-goog-api-key'] ??= value;
        return CLIENT;
      }
      return 0;
    case 16:
      return lower === 'proxy-connection' ? HOP : 0;
    case 17:
      if (lower === 'anthropic-version') h['anthropic-version'] ??= value;
      else if (lower === 'transfer-encoding') {
        h['transfer-encoding'] ??= value;
        p.teValue = p.teValue === undefined ? value : `${p.teValue}, ${value}`;
        return HOP;
      }
      return 0;
    case 18:
      return lower === 'proxy-authenticate' ? HOP : 0;
    case 19:
      return lower === 'proxy-authorization' ? HOP : 0;
    case 20:
      // The control challenge of `proxy stop|status` (health endpoint): gatepass' own, not forwarded.
      if (lower !== 'x-gatepass-challenge') return 0;
      h['x-gatepass-challenge'] ??= value;
      return CLIENT;
  }
  return 0;
}

/** Body framing and persistence, from the headers collected by interesting(). */
function framing(p: HeadScratch, head: Http1Head): Http1Head {
  const te = p.teValue;
  const connection = p.connectionValue;
  const upgradeHeader = p.upgradeHeader;
  p.teValue = undefined;
  p.connectionValue = '';
  p.upgradeHeader = false;
  head.expectContinue = p.expectContinue && head.minor === 1;
  p.expectContinue = false;
  if (te !== undefined) {
    if (head.contentLength !== undefined) {
      throw new Http1Error('E_HTTP_TRANSFER_ENCODING', 'Transfer-Encoding together with Content-Length');
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
  if (connection === 'keep-alive') {
    if (head.minor === 0) head.keepAlive = true;
  } else if (connection) {
    const tokens = connection.split(',').map((s) => s.trim());
    for (const t of tokens) {
      if (!t || t === 'close' || t === 'keep-alive') continue;
      head.connectionNamed ??= new Set();
      head.connectionNamed.add(t);
    }
    if (tokens.includes('close')) head.keepAlive = false;
    else if (head.minor === 0) head.keepAlive = tokens.includes('keep-alive');
    if (upgradeHeader && tokens.includes('upgrade')) head.upgrade = true;
  } else if (head.minor === 0) head.keepAlive = false;
  if (p.kind === 'request' && head.method === 'CONNECT') head.upgrade = true;
  if (p.kind === 'response' && !head.chunked && head.contentLength === undefined) {
    const status = head.status;
    if (status >= 200 && status !== 204 && status !== 304) head.keepAlive = false;
  }
  return head;
}
