/**
 * What the wire engine's HTTP/1.1 parser (http1.ts, http1-head.ts) produces and shares: the parsed
 * head (Http1Head: where its lines are in the bytes it was read from, the verdict on each header,
 * the values the proxy decides on, the body framing), the header kinds, the parse error, and the
 * scratch state one head's parse collects on its parser.
 */
import { shared } from './read-buffer.js';

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
/** Content-Length: validated, forwarded as it is (a request body goes on with the same framing). */
export const LENGTH = 3;

/** The headers whose first value the proxy decides on (the guard, the dialect, the control check). */
export type InterestingHeaders = Record<
  | 'host'
  | 'origin'
  | 'sec-fetch-site'
  | 'authorization'
  | 'x-api-key'
  | 'x-goog-api-key'
  | 'anthropic-version'
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
    'x-gatepass-challenge': undefined,
  };
  return h as Record<string, string>;
}

/** Where a field value in buf[a, b) starts once its leading blanks (SP, HTAB) are skipped. */
export function valueStart(buf: Buffer, a: number, b: number): number {
  while (a < b && (buf[a] === 32 || buf[a] === 9)) a++;
  return a;
}

/** Where a field value in buf[a, b) ends once its trailing blanks (SP, HTAB) are dropped. */
export function valueEnd(buf: Buffer, a: number, b: number): number {
  while (b > a && (buf[b - 1] === 32 || buf[b - 1] === 9)) b--;
  return b;
}

export class Http1Head {
  /** Requests: the method and request-target as sent. */
  method = '';
  url = '';
  /** Responses: the status code. */
  status = 0;
  /** 0 or 1 (HTTP/1.0 or HTTP/1.1). */
  minor = 1;
  /** Where the start line ends in `buf` (its CR). */
  startLineEnd = 0;
  /** Where the head ends in `buf`: the first byte after its empty line. */
  bodyStart = 0;
  /** Responses: where the reason phrase starts in `buf` (-1: none). */
  reasonAt = -1;
  /** Per header, in order: its line's start, its colon and its end (the CR) in `buf`. */
  readonly lines: number[] = [];
  /**
   * Per header: HOP (hop-by-hop, never forwarded either way), CLIENT (the client's credentials and
   * request framing: not forwarded upstream), LENGTH (Content-Length) or 0.
   */
  readonly kind: number[] = [];
  /**
   * First value of each header the proxy decides on (see InterestingHeaders), by lower-cased name.
   * Other headers are only in `buf` (and `raw`).
   */
  readonly headers: Record<string, string> = newHeaders();
  /** Body framing. */
  contentLength: number | undefined = undefined;
  chunked = false;
  /** Header names listed in Connection (other than close/keep-alive): hop-by-hop for this message. */
  connectionNamed: Set<string> | undefined = undefined;
  /** Persistent connection after this message (HTTP/1.1 default, or 1.0 with keep-alive). */
  keepAlive = true;
  /** CONNECT or a protocol upgrade: parsing stops after the head. */
  upgrade = false;
  /** `Expect: 100-continue`. */
  expectContinue = false;
  private lowerNames: string[] | undefined = undefined;

  constructor(
    /** The bytes the head was read from (kept: the forwarded lines are copied from them). */
    public buf: Buffer,
    /** Where the start line begins in `buf`. */
    public start: number,
  ) {}

  /**
   * Make the head's bytes its own: when they are in the shared read buffer (read-buffer.ts), a copy
   * of them (start line to empty line), every position in the head moved with them.
   */
  own(): void {
    if (!shared(this.buf)) return;
    const from = this.start;
    const copy = Buffer.allocUnsafe(this.bodyStart - from);
    this.buf.copy(copy, 0, from, this.bodyStart);
    this.buf = copy;
    this.start = 0;
    this.startLineEnd -= from;
    this.bodyStart -= from;
    if (this.reasonAt >= 0) this.reasonAt -= from;
    const lines = this.lines;
    for (let i = 0; i < lines.length; i++) lines[i]! -= from;
  }

  /** Responses: the reason phrase ('' when none). */
  get reason(): string {
    return this.reasonAt < 0 ? '' : this.buf.toString('latin1', this.reasonAt, this.startLineEnd);
  }

  /** [name, value, …] in order and case as received (values trimmed of surrounding blanks). */
  get raw(): string[] {
    const out: string[] = [];
    const { buf, lines } = this;
    for (let i = 0; i < lines.length; i += 3) {
      const a = valueStart(buf, lines[i + 1]! + 1, lines[i + 2]!);
      const b = valueEnd(buf, a, lines[i + 2]!);
      out.push(buf.toString('latin1', lines[i]!, lines[i + 1]!), buf.toString('latin1', a, b));
    }
    return out;
  }

  /** The lower-cased name of each header (raw[2i] → lower[i]); made on first use. */
  get lower(): string[] {
    if (this.lowerNames) return this.lowerNames;
    const out: string[] = [];
    const { buf, lines } = this;
    for (let i = 0; i < lines.length; i += 3)
      out.push(buf.toString('latin1', lines[i]!, lines[i + 1]!).toLowerCase());
    this.lowerNames = out;
    return out;
  }
}

export function fail(message: string): Http1Error {
  return new Http1Error('E_HTTP_PARSE', message);
}

/**
 * The string last made from one header's bytes on a connection, given again while the bytes are the
 * same: clients send the same target, Host, version and key on every request, and comparing a few
 * dozen bytes costs less than making a string. The comparison reads every byte whatever differs (a
 * key may be among them: no timing to learn it from); only a length that differs ends it early.
 */
export class Recent {
  private text = '';

  get(data: Buffer, a: number, b: number): string {
    const text = this.text;
    const n = b - a;
    if (text.length === n) {
      let diff = 0;
      for (let i = 0; i < n; i++) diff |= text.charCodeAt(i) ^ data[a + i]!;
      if (diff === 0) return text;
    }
    this.text = data.toString('latin1', a, b);
    return this.text;
  }
}

/** One Recent per value the parser makes a string of on every request. */
export class RecentValues {
  readonly url = new Recent();
  readonly host = new Recent();
  readonly apiKey = new Recent();
  readonly authorization = new Recent();
  readonly version = new Recent();
}

/** What parsing one head needs from its parser: the message kind, and what classify() collects for framing(). */
export interface HeadScratch {
  readonly kind: 'request' | 'response';
  /** Request parsers: the strings of the last head (Recent). */
  readonly recent: RecentValues | undefined;
  teValue: string | undefined;
  /** Connection values other than a lone close or keep-alive, lower-cased and joined. */
  connectionValue: string;
  connectionClose: boolean;
  connectionKeepAlive: boolean;
  upgradeHeader: boolean;
  expectContinue: boolean;
}
