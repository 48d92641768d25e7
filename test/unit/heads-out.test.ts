/**
 * The heads the wire engine writes, made as bytes from the heads it read (src/proxy/wire/heads-out.ts),
 * checked differentially: every generated head the parser accepts is re-made, and the result is read
 * back by llhttp (node:http's parser) and compared with what a plain string model of the rules says
 * it must hold — the start line, the gateway's Host and token, every header but hop-by-hop ones,
 * those named in Connection and the client's own credentials, in order, values as sent, the added
 * framing, and nothing after the head.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_CREDENTIALS, HOP_BY_HOP } from '../../src/proxy/headers.js';
import {
  ADD_CHUNKED,
  ADD_CLOSE,
  ADD_KEEP_ALIVE,
  requestHead,
  responseHead,
} from '../../src/proxy/wire/heads-out.js';
import { type Http1Head, Http1Parser } from '../../src/proxy/wire/http1.js';
import { llhttpCommon } from '../helpers/llhttp.js';

const common = llhttpCommon;

interface Read {
  method?: string;
  url?: string;
  status?: number;
  reason?: string;
  minor: number;
  raw: string[];
}

/** llhttp's reading of one head (whose message has no body). */
function llhttp(bytes: Buffer, kind: 'request' | 'response'): Read {
  const P = common.HTTPParser;
  const p = new P();
  p.initialize(kind === 'request' ? P.REQUEST : P.RESPONSE, {}, 64 * 1024, 0);
  let read: Read | undefined;
  p[P.kOnHeadersComplete] = (
    _maj: number,
    minor: number,
    raw: string[],
    method: number,
    url: string,
    status: number,
    reason: string,
  ) => {
    read =
      kind === 'request'
        ? { method: common.methods[method]!, url, minor, raw }
        : { status, reason, minor, raw };
    return 1; // no body follows
  };
  const r = p.execute(bytes);
  p.close();
  if (r instanceof Error) throw r;
  if (r !== bytes.length) throw new Error(`llhttp read ${r} of ${bytes.length} bytes`);
  if (!read) throw new Error('llhttp saw no complete head');
  return read;
}

/** Our parser's head for `text` (undefined when it refuses it). */
function parsed(kind: 'request' | 'response', text: string): Http1Head | undefined {
  let head: Http1Head | undefined;
  const parser = new Http1Parser(kind, {
    onHead(h) {
      head ??= h;
      return true;
    },
    onBody() {},
    onComplete() {},
  });
  return parser.execute(Buffer.from(text, 'latin1')) ? undefined : head;
}

/** The string model: [name, value] pairs of `raw` that go on (not hop-by-hop, not Connection-named, not `drop`). */
function model(raw: string[], drop: (lower: string) => boolean): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const n = t.trim().toLowerCase();
      if (n && n !== 'close' && n !== 'keep-alive') named.add(n);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || drop(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

const CLIENT_ONLY = new Set([...CLIENT_CREDENTIALS, 'host', 'expect', 'x-gatepass-challenge']);

const tchar = fc.constantFrom(...'abcxyzABCXYZ019-_.!~*'.split(''));
const name = fc.oneof(
  fc.constantFrom(
    'Host',
    'host',
    'Content-Type',
    'Connection',
    'connection',
    'Keep-Alive',
    'X-Api-Key',
    'authorization',
    'X-Goog-Api-Key',
    'Expect',
    'TE',
    'Trailer',
    'Proxy-Authorization',
    'anthropic-version',
    'Anthropic-Beta',
    'X-Custom',
    'x-custom',
    'X-Gatepass-Challenge',
    'Date',
  ),
  fc.array(tchar, { minLength: 1, maxLength: 24 }).map((a) => a.join('')),
);
const value = fc.oneof(
  fc.constantFrom(
    'close',
    'keep-alive',
    'x-custom, Keep-Alive',
    'X-Custom',
    'Date',
    '100-continue',
    'Bearer k',
    '',
  ),
  fc
    .array(fc.constantFrom(...'abc XYZ 019 ,;=/\t"é\xff'.split('')), { maxLength: 70 })
    .map((a) => a.join('')),
);
const headers = fc.array(fc.tuple(name, value, fc.constantFrom(': ', ':', ':  ', ':\t')), { maxLength: 12 });
const lines = (hs: [string, string, string][]) => hs.map(([n, v, sep]) => `${n}${sep}${v}\r\n`).join('');

describe('heads-out: the request head for the gateway', () => {
  it('llhttp reads in it what the string model says: start line, gateway Host, forwarded headers in order, token', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        fc.constantFrom('/v1/messages', '/v1/chat/completions?x=1', '/', '/a%20b?key=k&q=%C3%A9'),
        fc.constantFrom('1.1', '1.0'),
        headers,
        fc.option(fc.nat(1_000_000)),
        fc.constantFrom('as sent', '/gw/prefix/v1/messages', '/x?q=' + 'y'.repeat(60)),
        (method, url, version, hs, length, rewrite) => {
          const sized = length === null ? '' : `Content-Length: ${length}\r\n`;
          const text = `${method} ${url} HTTP/${version}\r\n${lines(hs)}${sized}\r\n`;
          const h = parsed('request', text);
          if (!h) return; // refused (e.g. a Transfer-Encoding or Connection: upgrade): not forwarded
          const path = rewrite === 'as sent' ? url : rewrite;
          const token = 'eyJ.tok-en_~';
          const host = Buffer.from('host: gateway.example:8443\r\n', 'latin1');
          const body = Buffer.from('BODY');
          const out = requestHead(h, path, host, token, false, body.length);
          body.copy(out, out.length - body.length);
          const headLength = out.length - body.length;
          expect(out.toString('latin1', headLength - 4, headLength)).toBe('\r\n\r\n');
          const read = llhttp(out.subarray(0, headLength), 'request');
          expect(read.method).toBe(method);
          expect(read.url).toBe(path);
          expect(read.minor).toBe(1);
          const forwarded = model(h.raw, (n) => CLIENT_ONLY.has(n));
          expect(read.raw).toEqual([
            'host',
            'gateway.example:8443',
            ...forwarded,
            'authorization',
            `Bearer ${token}`,
          ]);
          expect(out.toString('latin1', headLength)).toBe('BODY');
          checked++;
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
    expect(checked).toBeGreaterThan(200);
  });

  it('a chunked body streamed on gets transfer-encoding: chunked; the client’s own framing line does not go', () => {
    const h = parsed('request', 'POST /v1/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n')!;
    const out = requestHead(h, '/v1/x', Buffer.from('host: g\r\n'), 't', true, 0);
    expect(out.toString('latin1')).toBe(
      'POST /v1/x HTTP/1.1\r\nhost: g\r\nX-A: 1\r\ntransfer-encoding: chunked\r\nauthorization: Bearer t\r\n\r\n',
    );
  });
});

describe('heads-out: the response head for the client', () => {
  it('llhttp reads in it the gateway’s status, reason and headers but hop-by-hop and Connection-named ones, plus the framing added', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(
          '200 OK',
          '201 Created',
          '404 Not Found',
          '429 ',
          '500',
          '503 Service Unavailable',
          '200 ok é',
        ),
        fc.constantFrom('1.1', '1.0'),
        headers,
        fc.constantFrom(0, ADD_CHUNKED, ADD_CLOSE, ADD_KEEP_ALIVE, ADD_CHUNKED | ADD_CLOSE),
        (statusLine, version, hs, add) => {
          // A re-chunked answer had no length of its own (writeResponseHead adds the framing then only).
          const sized = add & ADD_CHUNKED ? '' : 'Content-Length: 0\r\n';
          const text = `HTTP/${version} ${statusLine}\r\n${lines(hs)}${sized}\r\n`;
          const h = parsed('response', text);
          if (!h) return;
          const out = responseHead(h, add, 'Fallback Reason');
          const read = llhttp(out, 'response');
          const [code, reason] = [statusLine.slice(0, 3), statusLine.slice(4)];
          expect(read.status).toBe(Number(code));
          expect(read.reason).toBe(reason || 'Fallback Reason');
          expect(read.minor).toBe(1);
          expect(read.raw).toEqual([
            ...model(h.raw, () => false),
            ...(add & ADD_CHUNKED ? ['transfer-encoding', 'chunked'] : []),
            ...(add & ADD_CLOSE ? ['connection', 'close'] : []),
            ...(add & ADD_KEEP_ALIVE ? ['connection', 'keep-alive'] : []),
          ]);
          checked++;
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
    expect(checked).toBeGreaterThan(200);
  });
});
