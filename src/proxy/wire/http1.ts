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

export { CLIENT, HOP, Http1Error, Http1Head, LENGTH } from './http1-head.js';

export interface Http1Handler {
  /** A complete head. For a response, return true when it has no body (the answer to HEAD). */
  onHead(head: Http1Head): boolean;
  /** Body bytes (de-chunked): a slice of the parser's input, valid until onHead/onBody return. */
  onBody(chunk: Buffer): void;
  /** The message is complete. */
  onComplete(): void;
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
/** From a read step: the rest of the input waits in `pending` (or there is none); execute() returns. */
const WAIT = -1;

export class Http1Parser implements HeadScratch {
  private state = State.Head;
  /** Unconsumed bytes of a head, a chunk-size line, or trailers split across reads. */
  private pending: Buffer | undefined;
  private remaining = 0;
  /** Bytes of a head still arriving (in `pending`) that have been checked. */
  private headChecked = 0;
  // HeadScratch: what parseHead() collects while reading one head (http1-head.ts).
  teValue: string | undefined;
  connectionValue = '';
  connectionClose = false;
  connectionKeepAlive = false;
  upgradeHeader = false;
  expectContinue = false;

  constructor(
    readonly kind: 'request' | 'response',
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
            const slice = pos === 0 ? data : data.subarray(pos);
            pos = len;
            this.handler.onBody(slice);
            break;
          }
          case State.ChunkSize:
            pos = this.readChunkSize(data, pos, len);
            if (pos === WAIT) return undefined;
            break;
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
          case State.Trailers:
            pos = this.readTrailer(data, pos, len);
            if (pos === WAIT) return undefined;
            break;
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

  /** State.Head: a complete head starts its message; an incomplete one waits (pending) unless it can never be valid. */
  private readHead(data: Buffer, pos: number, len: number): number {
    // Empty lines before a request line are ignored (RFC 9112 §2.2).
    if (this.kind === 'request') {
      while (pos + 1 < len && data[pos] === 13 && data[pos + 1] === 10) pos += 2;
      if (pos + 1 === len && data[pos] === 13) {
        this.pending = data.subarray(pos);
        return WAIT;
      }
      if (pos >= len) return WAIT;
    }
    const checked = this.headChecked;
    this.headChecked = 0;
    // A head arriving in pieces is parsed once its empty line is there; until then only the new
    // bytes are checked (a head cut into many reads costs no more than one read).
    const head =
      checked > 0 && data.indexOf(CRLF2, Math.max(pos, pos + checked - 3)) < 0
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
      this.pending = data.subarray(pos);
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
    if (eol < 0) {
      if (len - pos > MAX_LINE) throw fail('chunk size line too long');
      const partial = data.toString('latin1', pos, data[len - 1] === 13 ? len - 1 : len);
      if (partial && !CHUNK_SIZE_START.test(partial)) throw fail('bad chunk size');
      this.pending = data.subarray(pos);
      return WAIT;
    }
    if (eol === pos || data[eol - 1] !== 13 || eol - pos > MAX_LINE) throw fail('bad chunk size line');
    const m = CHUNK_SIZE.exec(data.toString('latin1', pos, eol - 1));
    if (!m) throw fail('bad chunk size');
    const size = Number.parseInt(m[1]!, 16);
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
    if (eol < 0) {
      if (len - pos > MAX_HEAD) throw new Http1Error('E_HTTP_HEADER_OVERFLOW', 'trailer section too large');
      this.pending = data.subarray(pos);
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
}
