/**
 * A strict, incremental HTTP/1.1 message parser for the proxy's wire engine (RFC 9112), written for
 * the proxy's hot path: one pass over each read, body bytes handed on as slices of it (no copies),
 * no callbacks across a native boundary. Strict on purpose — anything a lenient parser would have to
 * guess about is an error, and the connection is closed:
 * - only `\r\n` line ends, no bare CR or LF, no obs-fold, no control bytes in the head;
 * - header names are tokens, with nothing between the name and the colon;
 * - Content-Length is digits only and appears once; Transfer-Encoding is exactly `chunked` in a
 *   request and never comes with Content-Length (the request-smuggling cases);
 * - chunk sizes are at most 15 hex digits, chunk data is followed by exactly `\r\n`.
 * The property tests in test/unit/http1.test.ts compare it with llhttp (node:http's parser) on
 * generated messages.
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

export interface Http1Handler {
  /** A complete head. For a response, return true when it has no body (the answer to HEAD). */
  onHead(head: Http1Head): boolean;
  /** Body bytes (de-chunked): a slice of the parser's input, valid until onHead/onBody return. */
  onBody(chunk: Buffer): void;
  /** The message is complete. */
  onComplete(): void;
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

enum State {
  Head,
  Body, // Content-Length
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose, // response body delimited by the connection closing
  Stopped, // after an upgrade or an error
}

const MAX_HEAD = 16 * 1024;
const MAX_LINE = 4 * 1024;

/** Any byte not allowed anywhere in a head (CR and LF are checked as pairs separately). */
const BAD_HEAD_BYTE = /[^\t\r\n\x20-\x7e\x80-\xff]/;
const BARE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;
/** A byte not allowed inside one line of a head (so also any CR or LF). */
const BAD_LINE_BYTE = /[^\t\x20-\x7e\x80-\xff]/;
/** Header kinds (Http1Head.kind). */
export const HOP = 1;
export const CLIENT = 2;

/** tchar (RFC 9110 §5.6.2): what a header name is made of. */
const TCHAR = new Uint8Array(256);
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[ch.charCodeAt(0)] = 1;

/** Is text[0, end) a non-empty token (a header name)? */
function isToken(text: string, end: number): boolean {
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
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'];

/** Can `partial` (the start of a head still arriving) begin a valid request line? */
function plausibleRequestStart(partial: string): boolean {
  const sp = partial.indexOf(' ');
  const method = sp < 0 ? partial : partial.slice(0, sp);
  return sp < 0 ? METHODS.some((m) => m.startsWith(method)) : METHODS.includes(method);
}

const DIGITS = /^\d{1,15}$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,15})[\t ]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/;
/** What a chunk-size line still arriving may start with. */
const CHUNK_SIZE_START = /^[0-9A-Fa-f]{1,15}(?:[\t ]*(?:;[\t\x20-\x7e\x80-\xff]*)?)?$/;
const CRLF2 = Buffer.from('\r\n\r\n');

function fail(message: string): Http1Error {
  return new Http1Error('E_HTTP_PARSE', message);
}

export class Http1Parser {
  private state = State.Head;
  /** Unconsumed bytes of a head, a chunk-size line, or trailers split across reads. */
  private pending: Buffer | undefined;
  private remaining = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly handler: Http1Handler,
  ) {}

  /** True while a message has started but is not complete. */
  get inMessage(): boolean {
    return this.state !== State.Head || this.pending !== undefined;
  }

  /** Parse one read. Returns an error (and stops) on malformed input. */
  execute(input: Buffer): Http1Error | undefined {
    if (this.state === State.Stopped) return undefined;
    let data = input;
    if (this.pending) {
      data = Buffer.concat([this.pending, input]);
      this.pending = undefined;
    }
    let pos = 0;
    const len = data.length;
    try {
      while (pos < len) {
        switch (this.state) {
          case State.Head: {
            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            if (this.kind === 'request') {
              while (pos + 1 < len && data[pos] === 13 && data[pos + 1] === 10) pos += 2;
              if (pos + 1 === len && data[pos] === 13) {
                this.pending = data.subarray(pos);
                return undefined;
              }
              if (pos >= len) return undefined;
            }
            const end = data.indexOf(CRLF2, pos);
            if (end < 0) {
              if (len - pos > MAX_HEAD)
                throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'message head too large');
              // Refuse now what can never become a valid head (rather than wait for a timeout).
              const partial = data.toString('latin1', pos, data[len - 1] === 13 ? len - 1 : len);
              if (BAD_HEAD_BYTE.test(partial) || BARE_CR_OR_LF.test(partial))
                throw fail('invalid byte in message head');
              if (this.kind === 'request' && !plausibleRequestStart(partial)) throw fail('bad request line');
              this.pending = data.subarray(pos);
              return undefined;
            }
            if (end - pos > MAX_HEAD)
              throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'message head too large');
            const head = this.parseHead(data, pos, end);
            pos = end + 4;
            this.startBody(head);
            break;
          }
          case State.Body: {
            const n = Math.min(this.remaining, len - pos);
            if (n > 0) {
              const slice = data.subarray(pos, pos + n);
              pos += n;
              this.remaining -= n;
              this.handler.onBody(slice);
            }
            if (this.remaining === 0) this.complete();
            break;
          }
          case State.UntilClose: {
            const slice = pos === 0 ? data : data.subarray(pos);
            pos = len;
            this.handler.onBody(slice);
            break;
          }
          case State.ChunkSize: {
            const eol = data.indexOf(10, pos);
            if (eol < 0) {
              if (len - pos > MAX_LINE) throw fail('chunk size line too long');
              const partial = data.toString('latin1', pos, data[len - 1] === 13 ? len - 1 : len);
              if (partial && !CHUNK_SIZE_START.test(partial)) throw fail('bad chunk size');
              this.pending = data.subarray(pos);
              return undefined;
            }
            if (eol === pos || data[eol - 1] !== 13 || eol - pos > MAX_LINE)
              throw fail('bad chunk size line');
            const m = CHUNK_SIZE.exec(data.toString('latin1', pos, eol - 1));
            if (!m) throw fail('bad chunk size');
            const size = Number.parseInt(m[1]!, 16);
            pos = eol + 1;
            if (size === 0) this.state = State.Trailers;
            else {
              this.remaining = size;
              this.state = State.ChunkData;
            }
            break;
          }
          case State.ChunkData: {
            const n = Math.min(this.remaining, len - pos);
            const slice = data.subarray(pos, pos + n);
            pos += n;
            this.remaining -= n;
            if (this.remaining === 0) this.state = State.ChunkDataEnd;
            this.handler.onBody(slice);
            break;
          }
          case State.ChunkDataEnd: {
            if (len - pos < 2) {
              if (data[pos] !== 13) throw fail('chunk data not followed by CRLF');
              this.pending = data.subarray(pos);
              return undefined;
            }
            if (data[pos] !== 13 || data[pos + 1] !== 10) throw fail('chunk data not followed by CRLF');
            pos += 2;
            this.state = State.ChunkSize;
            break;
          }
          case State.Trailers: {
            // Trailer fields are read and dropped; the section ends with an empty line.
            const eol = data.indexOf(10, pos);
            if (eol < 0) {
              if (len - pos > MAX_HEAD)
                throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'trailer section too large');
              this.pending = data.subarray(pos);
              return undefined;
            }
            if (eol === pos || data[eol - 1] !== 13) throw fail('bad trailer line');
            const line = data.toString('latin1', pos, eol - 1);
            pos = eol + 1;
            if (line === '') this.complete();
            else if (BAD_LINE_BYTE.test(line) || !isToken(line, line.indexOf(':'))) {
              throw fail('bad trailer field');
            }
            break;
          }
          default:
            return undefined;
        }
        if ((this.state as State) === State.Stopped) return undefined;
      }
    } catch (err) {
      this.state = State.Stopped;
      this.pending = undefined;
      if (err instanceof Http1Error) return err;
      throw err;
    }
    return undefined;
  }

  /** The connection ended: completes a body delimited by it; an error if a message was cut short. */
  finish(): Http1Error | undefined {
    if (this.state === State.UntilClose) {
      this.complete();
      return undefined;
    }
    if (this.state === State.Stopped || !this.inMessage) return undefined;
    this.state = State.Stopped;
    return new Http1Error('E_HTTP_TRUNCATED', 'the connection closed in the middle of a message');
  }

  private complete(): void {
    this.state = State.Head;
    this.remaining = 0;
    this.handler.onComplete();
  }

  private startBody(head: Http1Head): void {
    const skip = this.handler.onHead(head);
    if (this.kind === 'request') {
      if (head.upgrade) {
        this.state = State.Stopped;
        return;
      }
      if (head.chunked) this.state = State.ChunkSize;
      else if (head.contentLength) {
        this.remaining = head.contentLength;
        this.state = State.Body;
      } else this.complete();
      return;
    }
    const status = head.status;
    if (skip || status < 200 || status === 204 || status === 304) {
      this.complete();
      return;
    }
    if (head.chunked) this.state = State.ChunkSize;
    else if (head.contentLength !== undefined) {
      this.remaining = head.contentLength;
      if (this.remaining === 0) this.complete();
      else this.state = State.Body;
    } else this.state = State.UntilClose;
  }

  /**
   * Parse the head in data[start, end) (without its final CRLFCRLF) in one pass over the bytes:
   * every byte checked against the grammar's tables, line ends must be CRLF, header names tokens.
   */
  private parseHead(data: Buffer, start: number, end: number): Http1Head {
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
          head.kind.push(this.interesting(head, lower, value));
        }
        i++;
        lineStart = i + 1;
        colon = 0;
      } else if (colon === 0) {
        if (c === 58) colon = i;
        else if (TCHAR[c] !== 1) throw fail('bad header name');
      } else if (FIELD_BYTE[c] !== 1) throw fail('invalid byte in message head');
    }
    if (this.kind === 'request') {
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
    return this.framing(head);
  }

  private teValue: string | undefined;
  private connectionValue = '';
  private upgradeHeader = false;
  private expectContinue = false;

  /**
   * Record a header the proxy decides on and classify it (HOP, CLIENT or 0), dispatching on the
   * name's length first: most headers are none of these.
   */
  private interesting(head: Http1Head, lower: string, value: string): number {
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
          if (value.toLowerCase() === '100-continue') this.expectContinue = true;
          return CLIENT;
        }
        return 0;
      case 7:
        if (lower === 'upgrade') {
          h.upgrade ??= value;
          this.upgradeHeader = true;
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
          this.connectionValue = this.connectionValue ? `${this.connectionValue},${v}` : v;
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
          this.teValue = this.teValue === undefined ? value : `${this.teValue}, ${value}`;
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
  private framing(head: Http1Head): Http1Head {
    const te = this.teValue;
    const connection = this.connectionValue;
    const upgradeHeader = this.upgradeHeader;
    this.teValue = undefined;
    this.connectionValue = '';
    this.upgradeHeader = false;
    head.expectContinue = this.expectContinue && head.minor === 1;
    this.expectContinue = false;
    if (te !== undefined) {
      if (head.contentLength !== undefined) {
        throw new Http1Error('E_HTTP_TRANSFER_ENCODING', 'Transfer-Encoding together with Content-Length');
      }
      const codings = te
        .toLowerCase()
        .split(',')
        .map((s) => s.trim());
      const last = codings[codings.length - 1];
      if (this.kind === 'request') {
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
    if (this.kind === 'request' && head.method === 'CONNECT') head.upgrade = true;
    if (this.kind === 'response' && !head.chunked && head.contentLength === undefined) {
      const status = head.status;
      if (status >= 200 && status !== 204 && status !== 304) head.keepAlive = false;
    }
    return head;
  }
}
