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
 * generated messages. This file owns the state machine over reads (bodies, chunks, trailers); the
 * head itself (grammar tables and framing rules) is http1-head.ts', its type http1-message.ts'.
 */
import {
  checkHeadBytes,
  fail,
  type HeadScratch,
  Http1Error,
  type Http1Head,
  isToken,
  parseHead,
} from './http1-head.js';
import { RecentValues } from './http1-message.js';
import { owned } from './read-buffer.js';

export { CLIENT, HOP, Http1Error, Http1Head, LENGTH } from './http1-head.js';

export interface Http1Handler {
  /** A complete head. For a response, return true when it has no body (the answer to HEAD). */
  onHead(head: Http1Head): boolean;
  /** Body bytes (de-chunked): a slice of the parser's input, valid until onHead/onBody return. */
  onBody(chunk: Buffer): void;
  /** The message is complete. */
  onComplete(): void;
  /**
   * Responses: pass a chunked body on with its own framing? Then the bytes of its chunks (size lines,
   * data, CRLFs) come as they were read, in runs (onRawChunks) instead of de-chunked (onBody): one
   * run per read, as checked as ever. A size line with an extension or blanks becomes onChunkLine
   * (the handler writes a plain one); the last chunk and the trailers are the handler's to end.
   */
  passChunks?(): boolean;
  onRawChunks?(data: Buffer, start: number, end: number): void;
  onChunkLine?(size: number): void;
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

/** A byte not allowed inside one line of a head (so also any CR or LF). */
const BAD_LINE_BYTE = /[^\t\x20-\x7e\x80-\xff]/;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'];

/** Can `partial` (the first bytes of a head still arriving, 8 at most) begin a valid request line? */
function plausibleRequestStart(partial: string): boolean {
  const sp = partial.indexOf(' ');
  const method = sp < 0 ? partial : partial.slice(0, sp);
  return sp < 0 ? METHODS.some((m) => m.startsWith(method)) : METHODS.includes(method);
}

const CHUNK_SIZE = /^([0-9A-Fa-f]{1,15})[\t ]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/;
/** What a chunk-size line still arriving may start with. */
const CHUNK_SIZE_START = /^[0-9A-Fa-f]{1,15}(?:[\t ]*(?:;[\t\x20-\x7e\x80-\xff]*)?)?$/;
const CRLF2 = Buffer.from('\r\n\r\n');
/**
 * Was a byte found (indexOf's `at`) before `len`? A read may be the first `len` bytes of a larger
 * buffer (read-buffer.ts): what lies beyond is another read's.
 */
function within(at: number, len: number): boolean {
  return at >= 0 && at < len;
}

/** Is there a CRLFCRLF in data[from, len)? */
function headEnds(data: Buffer, from: number, len: number): boolean {
  const at = data.indexOf(CRLF2, from);
  return at >= 0 && at + 4 <= len;
}

/** From a read step: the rest of the input waits in `pending` (or there is none); execute() returns. */
const WAIT = -1;

export class Http1Parser implements HeadScratch {
  private state = State.Head;
  /** Unconsumed bytes of a head, a chunk-size line, or trailers split across reads. */
  private pending: Buffer | undefined;
  private remaining = 0;
  /** Passing this chunked body on as read (Http1Handler.passChunks), and where its run of this read began (-1: none). */
  private raw = false;
  private rawStart = -1;
  /** Bytes of a head still arriving (in `pending`) that have been checked. */
  private headChecked = 0;
  // HeadScratch: what parseHead() collects while reading one head (http1-head.ts).
  teValue: string | undefined;
  connectionValue = '';
  connectionClose = false;
  connectionKeepAlive = false;
  upgradeHeader = false;
  expectContinue = false;
  readonly recent: RecentValues | undefined;

  constructor(
    readonly kind: 'request' | 'response',
    private readonly handler: Http1Handler,
  ) {
    this.recent = kind === 'request' ? new RecentValues() : undefined;
  }

  /** True while a message has started but is not complete. */
  get inMessage(): boolean {
    return this.state !== State.Head || this.pending !== undefined;
  }

  /** Parse one read (input[0, end)). Returns an error (and stops) on malformed input. */
  execute(input: Buffer, end = input.length): Http1Error | undefined {
    if (this.state === State.Stopped) return undefined;
    let data = input;
    let len = end;
    if (this.pending) {
      data = Buffer.concat([this.pending, input.subarray(0, end)]);
      len = data.length;
      this.pending = undefined;
    }
    let pos = 0;
    try {
      while (pos < len) {
        switch (this.state) {
          case State.Head:
            pos = this.readHead(data, pos, len);
            if (pos === WAIT) return undefined;
            break;
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
            const slice = pos === 0 && len === data.length ? data : data.subarray(pos, len);
            pos = len;
            this.handler.onBody(slice);
            break;
          }
          case State.ChunkSize:
            if (this.raw && this.rawStart < 0) this.rawStart = pos;
            pos = this.readChunkSize(data, pos, len);
            if (pos === WAIT) return undefined;
            break;
          case State.ChunkData: {
            if (this.raw && this.rawStart < 0) this.rawStart = pos;
            const n = Math.min(this.remaining, len - pos);
            const at = pos;
            pos += n;
            this.remaining -= n;
            if (this.remaining === 0) this.state = State.ChunkDataEnd;
            if (!this.raw) this.handler.onBody(data.subarray(at, pos));
            break;
          }
          case State.ChunkDataEnd: {
            if (this.raw && this.rawStart < 0) this.rawStart = pos;
            if (len - pos < 2) {
              if (data[pos] !== 13) throw fail('chunk data not followed by CRLF');
              this.endRun(data, pos);
              this.keep(data, pos, len);
              return undefined;
            }
            if (data[pos] !== 13 || data[pos + 1] !== 10) throw fail('chunk data not followed by CRLF');
            pos += 2;
            this.state = State.ChunkSize;
            break;
          }
          case State.Trailers:
            pos = this.readTrailer(data, pos, len);
            if (pos === WAIT) return undefined;
            break;
          default:
            return undefined;
        }
        if ((this.state as State) === State.Stopped) return undefined;
      }
      this.endRun(data, len);
    } catch (err) {
      this.state = State.Stopped;
      this.pending = undefined;
      if (err instanceof Http1Error) return err;
      throw err;
    }
    return undefined;
  }

  /** Hand on the run of a passed-on chunked body read so far, up to `end` (onRawChunks). */
  private endRun(data: Buffer, end: number): void {
    const start = this.rawStart;
    this.rawStart = -1;
    if (start >= 0 && end > start) this.handler.onRawChunks?.(data, start, end);
  }

  /** State.Head: a complete head starts its message; an incomplete one waits (pending) unless it can never be valid. */
  private readHead(data: Buffer, pos: number, len: number): number {
    // Empty lines before a request line are ignored (RFC 9112 §2.2).
    if (this.kind === 'request') {
      while (pos + 1 < len && data[pos] === 13 && data[pos + 1] === 10) pos += 2;
      if (pos + 1 === len && data[pos] === 13) {
        this.keep(data, pos, len);
        return WAIT;
      }
      if (pos >= len) return WAIT;
    }
    const checked = this.headChecked;
    this.headChecked = 0;
    // A head arriving in pieces is parsed once its empty line is there; until then only the new
    // bytes are checked (a head cut into many reads costs no more than one read).
    const head =
      checked > 0 && !headEnds(data, Math.max(pos, pos + checked - 3), len)
        ? undefined
        : parseHead(this, data, pos, Math.min(len, pos + MAX_HEAD + 4));
    if (head === undefined) {
      // Up to MAX_HEAD bytes, and the first three of the CRLFCRLF that ends them.
      if (len - pos > MAX_HEAD + 3) throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'message head too large');
      // Refuse now what can never become a valid head (rather than wait for a timeout): parseHead
      // has checked every byte it read; otherwise the new bytes are checked here, from the last
      // one checked before (a CR there meets its LF, or not, only now).
      if (checked > 0) checkHeadBytes(data, pos + checked - 1, len);
      if (
        this.kind === 'request' &&
        !plausibleRequestStart(data.toString('latin1', pos, Math.min(len, pos + 8)))
      )
        throw fail('bad request line');
      this.headChecked = len - pos;
      this.keep(data, pos, len);
      return WAIT;
    }
    if (head.bodyStart - 4 - pos > MAX_HEAD)
      throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'message head too large');
    pos = head.bodyStart;
    this.startBody(head);
    return pos;
  }

  /** State.ChunkSize: one chunk-size line (a size of 0 starts the trailers). */
  private readChunkSize(data: Buffer, pos: number, len: number): number {
    const eol = data.indexOf(10, pos);
    if (!within(eol, len)) {
      if (len - pos > MAX_LINE) throw fail('chunk size line too long');
      const partial = data.toString('latin1', pos, data[len - 1] === 13 ? len - 1 : len);
      if (partial && !CHUNK_SIZE_START.test(partial)) throw fail('bad chunk size');
      this.endRun(data, pos);
      this.keep(data, pos, len);
      return WAIT;
    }
    if (eol === pos || data[eol - 1] !== 13 || eol - pos > MAX_LINE) throw fail('bad chunk size line');
    const line = data.toString('latin1', pos, eol - 1);
    const m = CHUNK_SIZE.exec(line);
    if (!m) throw fail('bad chunk size');
    const size = Number.parseInt(m[1]!, 16);
    if (this.raw && (size === 0 || m[1] !== line)) {
      // The last chunk and the trailers are not passed on; nor is an extension (a plain line instead).
      this.endRun(data, pos);
      if (size !== 0) this.handler.onChunkLine?.(size);
    }
    pos = eol + 1;
    if (size === 0) this.state = State.Trailers;
    else {
      this.remaining = size;
      this.state = State.ChunkData;
    }
    return pos;
  }

  /** State.Trailers: one trailer line (read and dropped); the empty line completes the message. */
  private readTrailer(data: Buffer, pos: number, len: number): number {
    // Trailer fields are read and dropped; the section ends with an empty line.
    const eol = data.indexOf(10, pos);
    if (!within(eol, len)) {
      if (len - pos > MAX_HEAD) throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'trailer section too large');
      this.keep(data, pos, len);
      return WAIT;
    }
    if (eol === pos || data[eol - 1] !== 13) throw fail('bad trailer line');
    const line = data.toString('latin1', pos, eol - 1);
    pos = eol + 1;
    if (line === '') this.complete();
    else if (BAD_LINE_BYTE.test(line) || !isToken(line, line.indexOf(':'))) {
      throw fail('bad trailer field');
    }
    return pos;
  }

  /** Keep data[pos, len) for the next read (a copy when it is in the shared read buffer: read-buffer.ts). */
  private keep(data: Buffer, pos: number, len: number): void {
    this.pending = owned(data.subarray(pos, len));
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
    this.raw = false;
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
    if (head.chunked) {
      this.state = State.ChunkSize;
      this.raw = this.handler.passChunks?.() === true;
    } else if (head.contentLength !== undefined) {
      this.remaining = head.contentLength;
      if (this.remaining === 0) this.complete();
      else this.state = State.Body;
    } else this.state = State.UntilClose;
  }
}
