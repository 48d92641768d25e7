/**
 * The wire engine's HTTP/1.1 parser: framing rules, incremental parsing at every split point, the
 * request-smuggling rejections, and a differential property test against llhttp (the parser inside
 * node:http): whatever gatepass accepts, llhttp accepts too and reads the same way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_CREDENTIALS, HOP_BY_HOP } from '../../src/proxy/headers.js';
import { CLIENT, HOP, type Http1Head, Http1Parser, LENGTH } from '../../src/proxy/wire/http1.js';
import { llhttpCommon } from '../helpers/llhttp.js';

interface Message {
  head: Http1Head;
  body: string;
}

function collect(kind: 'request' | 'response', skipBody = false) {
  const messages: Message[] = [];
  let current: Message | undefined;
  const parser = new Http1Parser(kind, {
    onHead(head) {
      current = { head, body: '' };
      return skipBody;
    },
    onBody(chunk) {
      current!.body += chunk.toString('latin1');
    },
    onComplete() {
      messages.push(current!);
      current = undefined;
    },
  });
  return { parser, messages };
}

/** Parse `text` fed in pieces split at `cuts`; returns the messages or the error code. */
function parse(kind: 'request' | 'response', text: string, cuts: number[] = [], skipBody = false) {
  const { parser, messages } = collect(kind, skipBody);
  const buf = Buffer.from(text, 'latin1');
  let prev = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length]) {
    const err = parser.execute(buf.subarray(prev, cut));
    if (err) return { error: err.code, messages };
    prev = cut;
  }
  return { error: undefined, messages, parser };
}

const req = (lines: string[], body = '') => `${lines.join('\r\n')}\r\n\r\n${body}`;

describe('requests', () => {
  it('reads method, target, headers (order and case kept) and a Content-Length body', () => {
    const text = req(
      ['POST /v1/messages?x=1 HTTP/1.1', 'Host: 127.0.0.1:1', 'X-Api-Key:  k1 ', 'Content-Length: 5'],
      'hello',
    );
    const r = parse('request', text);
    expect(r.error).toBeUndefined();
    expect(r.messages).toHaveLength(1);
    const m = r.messages[0]!;
    expect(m.head.method).toBe('POST');
    expect(m.head.url).toBe('/v1/messages?x=1');
    expect(m.head.raw).toEqual(['Host', '127.0.0.1:1', 'X-Api-Key', 'k1', 'Content-Length', '5']);
    expect(m.head.headers['x-api-key']).toBe('k1');
    expect(m.head.keepAlive).toBe(true);
    expect(m.body).toBe('hello');
  });

  it('gives the same result whatever the read boundaries (every split point)', () => {
    const text =
      req(
        ['POST /a HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked'],
        '3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-A: x\r\n\r\n',
      ) +
      req(['GET /b HTTP/1.1', 'Host: h']) +
      req(['PUT /c HTTP/1.1', 'Host: h', 'Content-Length: 3'], 'xyz');
    const whole = parse('request', text);
    expect(whole.error).toBeUndefined();
    expect(whole.messages.map((m) => [m.head.method, m.head.url, m.body])).toEqual([
      ['POST', '/a', 'abc0123456789abcdef'],
      ['GET', '/b', ''],
      ['PUT', '/c', 'xyz'],
    ]);
    for (let i = 1; i < text.length; i++) {
      const r = parse('request', text, [i]);
      expect(r.error, `split at ${i}`).toBeUndefined();
      expect(r.messages.map((m) => m.body)).toEqual(['abc0123456789abcdef', '', 'xyz']);
    }
    // One byte at a time.
    const bytes = parse(
      'request',
      text,
      Array.from({ length: text.length }, (_, i) => i),
    );
    expect(bytes.messages).toHaveLength(3);
  });

  it('classifies headers as the node:http engine does: hop-by-hop, client-only (credentials, framing), Content-Length (forwarded as validated), or forwarded', () => {
    const names = [
      ...HOP_BY_HOP,
      ...CLIENT_CREDENTIALS,
      'host',
      'expect',
      'content-length',
      'Content-Type',
      'X-Other',
      'TE',
    ];
    const lines = names.map(
      (n) => `${n}: ${n === 'content-length' ? '0' : n === 'transfer-encoding' ? 'chunked' : 'x'}`,
    );
    // Content-Length and Transfer-Encoding together are refused, so they go in separate requests.
    const heads = [
      lines.filter((l) => !l.startsWith('content-length')),
      lines.filter((l) => !l.startsWith('transfer-encoding')),
    ].map(
      (ls, i) =>
        parse('request', req(['POST / HTTP/1.1', ...ls], i === 0 ? '0\r\n\r\n' : '')).messages[0]!.head,
    );
    for (const head of heads) {
      head.lower.forEach((n, i) => {
        const want = HOP_BY_HOP.has(n)
          ? HOP
          : CLIENT_CREDENTIALS.has(n) || ['host', 'expect'].includes(n)
            ? CLIENT
            : n === 'content-length'
              ? LENGTH
              : 0;
        expect(head.kind[i], n).toBe(want);
      });
    }
    expect(heads[0]!.lower).toContain('transfer-encoding');
    expect(heads[1]!.lower).toContain('content-length');
  });

  it('skips empty lines before a request line; HTTP/1.0 is close unless keep-alive', () => {
    expect(parse('request', `\r\n\r\n${req(['GET / HTTP/1.1', 'Host: h'])}`).messages).toHaveLength(1);
    expect(parse('request', req(['GET / HTTP/1.0', 'Host: h'])).messages[0]!.head.keepAlive).toBe(false);
    expect(
      parse('request', req(['GET / HTTP/1.0', 'Connection: keep-alive'])).messages[0]!.head.keepAlive,
    ).toBe(true);
    expect(parse('request', req(['GET / HTTP/1.1', 'Connection: close'])).messages[0]!.head.keepAlive).toBe(
      false,
    );
  });

  it('flags upgrades and CONNECT, and stops parsing after their head', () => {
    const up = parse(
      'request',
      `${req(['GET / HTTP/1.1', 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket'])}garbage`,
    );
    expect(up.error).toBeUndefined();
    expect(up.messages).toHaveLength(0); // the head is reported, never completed
    const { parser } = collect('request');
    let head: Http1Head | undefined;
    const p2 = new Http1Parser('request', {
      onHead: (h) => {
        head = h;
        return false;
      },
      onBody: () => undefined,
      onComplete: () => undefined,
    });
    expect(p2.execute(Buffer.from(req(['CONNECT h:443 HTTP/1.1', 'Host: h:443'])))).toBeUndefined();
    expect(head?.upgrade).toBe(true);
    expect(parser.inMessage).toBe(false);
  });

  it.each([
    [
      'Content-Length with Transfer-Encoding',
      ['POST / HTTP/1.1', 'Content-Length: 3', 'Transfer-Encoding: chunked'],
    ],
    ['two Content-Length headers', ['POST / HTTP/1.1', 'Content-Length: 3', 'Content-Length: 3']],
    ['Content-Length not digits', ['POST / HTTP/1.1', 'Content-Length: +3']],
    ['Content-Length list', ['POST / HTTP/1.1', 'Content-Length: 3, 3']],
    ['Content-Length hex', ['POST / HTTP/1.1', 'Content-Length: 0x3']],
    ['Transfer-Encoding not chunked', ['POST / HTTP/1.1', 'Transfer-Encoding: gzip']],
    ['chunked twice', ['POST / HTTP/1.1', 'Transfer-Encoding: chunked, chunked']],
    [
      'chunked in two headers',
      ['POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'],
    ],
    ['a near-chunked coding', ['POST / HTTP/1.1', 'Transfer-Encoding: xchunked']],
    ['obs-fold', ['GET / HTTP/1.1', 'X-A: 1', ' continued']],
    ['space before the colon', ['GET / HTTP/1.1', 'Host : h']],
    ['an empty header name', ['GET / HTTP/1.1', ': h']],
    ['a header name with a slash', ['GET / HTTP/1.1', 'X/A: 1']],
    ['a NUL in a value', ['GET / HTTP/1.1', 'X-A: a\0b']],
    ['DEL in a value', ['GET / HTTP/1.1', 'X-A: a\x7fb']],
    ['a bare LF', ['GET / HTTP/1.1', 'X-A: a\nX-B: b']],
    ['a bare CR', ['GET / HTTP/1.1', 'X-A: a\rb']],
    ['HTTP/2.0', ['GET / HTTP/2.0']],
    ['lower-case version', ['GET / http/1.1']],
    ['no version', ['GET /']],
    ['two spaces', ['GET  / HTTP/1.1']],
    ['a space in the target', ['GET /a b HTTP/1.1']],
  ])('rejects %s', (_name, lines) => {
    const r = parse('request', req(lines as string[], 'abc'));
    expect(r.error).toMatch(/^E_HTTP_/);
    expect(r.messages).toHaveLength(0);
  });

  it.each([
    ['an invalid chunk size', 'g\r\nabc\r\n0\r\n\r\n'],
    ['an empty chunk size', '\r\nabc\r\n0\r\n\r\n'],
    ['a 16-digit chunk size', '1000000000000000\r\n'],
    ['chunk data longer than announced', '2\r\nabc\r\n0\r\n\r\n'],
    ['a chunk size line with a bare LF', '3\nabc\r\n0\r\n\r\n'],
    ['a negative chunk size', '-3\r\nabc\r\n0\r\n\r\n'],
  ])('rejects a chunked body with %s', (_name, body) => {
    const r = parse('request', req(['POST / HTTP/1.1', 'Transfer-Encoding: chunked'], body));
    expect(r.error).toBe('E_HTTP_PARSE');
    expect(r.messages).toHaveLength(0);
  });

  it('refuses a bad byte of a head still arriving in the read it comes in, whichever read that is', () => {
    const { parser } = collect('request');
    const pieces = ['GET /v1/models HTTP/1.1\r', '\nHost: h\r\nX-A: a', 'b\r\nX-B: c'];
    for (const piece of pieces) expect(parser.execute(Buffer.from(piece, 'latin1'))).toBeUndefined();
    expect(parser.inMessage).toBe(true);
    expect(parser.execute(Buffer.from('d\0e', 'latin1'))?.code).toBe('E_HTTP_PARSE');
    for (const [good, bad] of [
      ['GET / HTTP/1.1\r\nX-A: a', 'b\nX-B: c'], // a bare LF
      ['GET / HTTP/1.1\r\nX-A: a\r', 'X-B: c'], // a CR at the end of one read, no LF in the next
      ['GET / HTTP/1.1\r\nX-A: a', '\x7f'],
    ]) {
      const p = collect('request').parser;
      expect(p.execute(Buffer.from(good!, 'latin1')), good).toBeUndefined();
      expect(p.execute(Buffer.from(bad!, 'latin1'))?.code, bad).toBe('E_HTTP_PARSE');
    }
  });

  it('a head of exactly 16 KiB is read, one byte more is not, whole or a byte at a time', () => {
    const sized = (n: number) => {
      const start = 'GET / HTTP/1.1\r\nX-Big: ';
      return `${start}${'a'.repeat(n - start.length)}\r\n\r\n`; // the head without its final CRLFCRLF is n bytes
    };
    const everyByte = Array.from({ length: 16 * 1024 + 8 }, (_, i) => i);
    expect(parse('request', sized(16 * 1024)).messages).toHaveLength(1);
    expect(parse('request', sized(16 * 1024), everyByte).messages).toHaveLength(1);
    expect(parse('request', sized(16 * 1024 + 1)).error).toBe('E_HTTP_HEADER_OVERFLOW');
    expect(parse('request', sized(16 * 1024 + 1), everyByte).error).toBe('E_HTTP_HEADER_OVERFLOW');
  });

  it('limits the head to 16 KiB (431-worthy overflow), whole or in pieces', () => {
    const big = req(['GET / HTTP/1.1', `X-Big: ${'a'.repeat(17 * 1024)}`]);
    expect(parse('request', big).error).toBe('E_HTTP_HEADER_OVERFLOW');
    expect(parse('request', big, [100, 5000, 10000, 16000]).error).toBe('E_HTTP_HEADER_OVERFLOW');
    const ok = req(['GET / HTTP/1.1', `X-Big: ${'a'.repeat(15 * 1024)}`]);
    expect(parse('request', ok).error).toBeUndefined();
  });

  it('requests on one connection each read as their own: target, Host, version and keys that differ from the last one by a byte', () => {
    // The parser reuses the strings of the last head while the bytes are the same (Recent): any byte
    // that differs, wherever it is, must give the new value.
    const key = 'gp_local_0123456789abcdef0123456789abcdef01234567';
    const at = (i: number, c: string, s: string) => s.slice(0, i) + c + s.slice(i + 1);
    const heads = fc.sample(
      fc.record({
        url: fc.constantFrom('/v1/messages', '/v1/messagez', '/v2/messages', '/v1/messages?key=a'),
        host: fc.constantFrom('127.0.0.1:4000', '127.0.0.1:4001', 'localhost:4000'),
        version: fc.constantFrom('2023-06-01', '2023-06-02', '2023-01-01'),
        key: fc.constantFrom(key, at(0, 'G', key), at(20, 'X', key), at(key.length - 1, '8', key), `${key}9`),
        bearer: fc.constantFrom(`Bearer ${key}`, `Bearer ${at(30, 'Z', key)}`),
      }),
      { numRuns: 60, seed: 19 },
    );
    const text = heads
      .map((h) =>
        req([
          `POST ${h.url} HTTP/1.1`,
          `Host: ${h.host}`,
          `anthropic-version: ${h.version}`,
          `x-api-key: ${h.key}`,
          `authorization: ${h.bearer}`,
          'Content-Length: 0',
        ]),
      )
      .join('');
    const r = parse('request', text);
    expect(r.error).toBeUndefined();
    expect(r.messages.map((m) => m.head.url)).toEqual(heads.map((h) => h.url));
    expect(r.messages.map((m) => m.head.headers)).toEqual(
      heads.map((h) =>
        expect.objectContaining({
          host: h.host,
          'anthropic-version': h.version,
          'x-api-key': h.key,
          authorization: h.bearer,
        }),
      ),
    );
  });
});

describe('responses', () => {
  const res = (lines: string[], body = '') => req(lines, body);

  it('a chunked body passed on as read (passChunks): plain chunk framing out, the same bytes, no extension or trailer, however it is cut into reads', () => {
    const chunk = fc.record({
      data: fc.string({ minLength: 1, maxLength: 40 }),
      ext: fc.constantFrom('', ';a=b', ' ', '\t;x'),
      upper: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(chunk, { maxLength: 6 }),
        fc.constantFrom('', 'x-trailer: t\r\n'),
        fc.array(fc.nat(400), { maxLength: 8 }),
        (chunks, trailer, cuts) => {
          const body = chunks
            .map((c) => {
              const hex = Buffer.byteLength(c.data, 'latin1').toString(16);
              return `${c.upper ? hex.toUpperCase() : hex}${c.ext}\r\n${c.data}\r\n`;
            })
            .join('');
          const text = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${body}0\r\n${trailer}\r\n`;
          let out = '';
          let done = false;
          const parser = new Http1Parser('response', {
            onHead: () => false,
            onBody: () => {
              throw new Error('passed-on chunks come as runs, not de-chunked');
            },
            onComplete: () => {
              done = true;
            },
            passChunks: () => true,
            onRawChunks: (data, start, end) => {
              out += data.toString('latin1', start, end);
            },
            onChunkLine: (size) => {
              out += `${size.toString(16)}\r\n`;
            },
          });
          const buf = Buffer.from(text, 'latin1');
          let prev = 0;
          for (const cut of [
            ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b),
            buf.length,
          ]) {
            // Each read in a buffer of its own, with other bytes after it (as in the shared read buffer).
            const read = Buffer.concat([buf.subarray(prev, cut), Buffer.from('\r\n0\r\n\r\nXX')]);
            expect(parser.execute(read, cut - prev)).toBeUndefined();
            prev = cut;
          }
          expect(done).toBe(true);
          // What the client gets: the runs and lines, then the proxy's own last chunk.
          const framed = `${out}0\r\n\r\n`;
          const sizesAsSent = chunks.map((c) => {
            const hex = Buffer.byteLength(c.data, 'latin1').toString(16);
            return `${c.upper && c.ext === '' ? hex.toUpperCase() : hex}\r\n${c.data}\r\n`;
          });
          expect(framed).toBe(`${sizesAsSent.join('')}0\r\n\r\n`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads status, reason and a sized body; 1xx and 204/304 have none', () => {
    const r = parse(
      'response',
      res(['HTTP/1.1 100 Continue']) +
        res(['HTTP/1.1 200 OK', 'Content-Length: 2'], 'ok') +
        res(['HTTP/1.1 204 No Content']) +
        res(['HTTP/1.1 304 Not Modified', 'Content-Length: 10']) +
        res(['HTTP/1.1 404', 'Content-Length: 0']),
    );
    expect(r.error).toBeUndefined();
    expect(r.messages.map((m) => [m.head.status, m.head.reason, m.body])).toEqual([
      [100, 'Continue', ''],
      [200, 'OK', 'ok'],
      [204, 'No Content', ''],
      [304, 'Not Modified', ''],
      [404, '', ''],
    ]);
  });

  it('de-chunks, and a body without length ends when the connection does', () => {
    const chunked = parse(
      'response',
      res(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '9\r\ndata: 1\n\n\r\n0\r\n\r\n'),
    );
    expect(chunked.messages[0]!.body).toBe('data: 1\n\n');
    expect(chunked.messages[0]!.head.keepAlive).toBe(true);
    const eof = parse('response', res(['HTTP/1.1 200 OK'], 'until the end'));
    expect(eof.messages).toHaveLength(0);
    expect(eof.parser!.finish()).toBeUndefined();
    expect(eof.messages[0]!.body).toBe('until the end');
    expect(eof.messages[0]!.head.keepAlive).toBe(false);
  });

  it('the answer to HEAD has no body even with a Content-Length', () => {
    const r = parse('response', res(['HTTP/1.1 200 OK', 'Content-Length: 5']), [], true);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]!.body).toBe('');
  });

  it('a message cut short by the connection closing is an error', () => {
    const r = parse('response', res(['HTTP/1.1 200 OK', 'Content-Length: 10'], 'abc'));
    expect(r.parser!.finish()?.code).toBe('E_HTTP_TRUNCATED');
    const c = parse('response', res(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], '5\r\nab'));
    expect(c.parser!.finish()?.code).toBe('E_HTTP_TRUNCATED');
  });

  it.each([
    ['a bad status line', ['HTTP/1.1 20 OK']],
    ['a status out of range', ['HTTP/1.1 099 X']],
    ['CL with TE', ['HTTP/1.1 200 OK', 'Content-Length: 1', 'Transfer-Encoding: chunked']],
    ['chunked not last', ['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip', 'Content-Length: 1']],
  ])('rejects %s', (_name, lines) => {
    expect(parse('response', res(lines as string[], 'x')).error).toMatch(/^E_HTTP_/);
  });
});

// --------------------------------------------------------------------------------------------
// Differential: gatepass' parser against llhttp (node:http's), on generated and mutated requests.

const common = llhttpCommon;

function llhttp(text: Buffer) {
  const P = common.HTTPParser;
  const p = new P();
  p.initialize(P.REQUEST, {}, 16 * 1024, 0);
  const messages: { method: string; url: string; raw: string[]; body: string; upgrade: boolean }[] = [];
  let cur: (typeof messages)[number] | undefined;
  let pendingRaw: string[] = [];
  let pendingUrl = '';
  p[P.kOnHeaders] = (h: string[], url: string) => {
    pendingRaw.push(...h);
    pendingUrl += url;
  };
  p[P.kOnHeadersComplete] = (
    _maj: number,
    _min: number,
    raw: string[] | undefined,
    method: number,
    url: string | undefined,
    _s: unknown,
    _r: unknown,
    upgrade: boolean,
  ) => {
    cur = {
      method: common.methods[method]!,
      url: url ?? pendingUrl,
      raw: raw ?? pendingRaw,
      body: '',
      upgrade,
    };
    pendingRaw = [];
    pendingUrl = '';
    return 0;
  };
  p[P.kOnBody] = (b: Buffer) => {
    cur!.body += b.toString('latin1');
  };
  p[P.kOnMessageComplete] = () => {
    messages.push(cur!);
  };
  const r = p.execute(text);
  p.close();
  return { ok: !(r instanceof Error), messages };
}

const tchar = fc.constantFrom(...'abcxyzABCXYZ019-_.!~*'.split(''));
const headerName = fc.oneof(
  fc.constantFrom(
    'Host',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
    'X-Api-Key',
    'Expect',
    'Upgrade',
    'TE',
  ),
  fc.array(tchar, { minLength: 1, maxLength: 12 }).map((a) => a.join('')),
);
const valueChar = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...'abc 123 chunked, keep-alive close gzip ;=/'.split('')) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\r', '\n', '\0', '\x7f', '\x80', '\xff', '"') },
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'chunked',
    '0',
    '5',
    '12',
    ' 5 ',
    'close',
    'keep-alive',
    '100-continue',
    'chunked, chunked',
    'gzip, chunked',
  ),
  fc.array(valueChar, { maxLength: 16 }).map((a) => a.join('')),
);
const requestText = fc
  .record({
    method: fc.constantFrom(
      'GET',
      'POST',
      'PUT',
      'HEAD',
      'DELETE',
      'PATCH',
      'OPTIONS',
      'get',
      'P0ST',
      'CONNECT',
    ),
    target: fc.constantFrom('/', '/v1/messages', '/a?b=c&key=1', '*', 'http://x/y', '/%20', '/a b'),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2'),
    headers: fc.array(fc.tuple(headerName, headerValue, fc.constantFrom(': ', ':', ' : ', ':  ')), {
      maxLength: 6,
    }),
    body: fc.oneof(
      fc.constant(''),
      fc.constantFrom(
        'hello',
        '5\r\nhello\r\n0\r\n\r\n',
        '0\r\n\r\n',
        '3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n',
        'zz\r\n',
      ),
    ),
    eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
  })
  .map(
    ({ method, target, version, headers, body, eol }) =>
      `${method} ${target} ${version}${eol}${headers.map(([n, v, sep]) => `${n}${sep}${v}`).join(eol)}${headers.length ? eol : ''}${eol}${body}`,
  );

describe('agrees with llhttp', () => {
  it('whatever gatepass accepts, llhttp accepts and reads the same (method, target, headers, body)', () => {
    fc.assert(
      fc.property(requestText, fc.array(fc.nat(200), { maxLength: 3 }), (text, cuts) => {
        const buf = Buffer.from(text, 'latin1');
        const ours = parse('request', text, cuts);
        const ref = llhttp(buf);
        if (ours.error) return; // stricter than llhttp is allowed
        expect(ref.ok, JSON.stringify(text)).toBe(true);
        // Messages completed by both must match; llhttp may complete an upgrade ours stops at.
        const n = ours.messages.length;
        expect(ref.messages.length, JSON.stringify(text)).toBeGreaterThanOrEqual(n);
        for (let i = 0; i < n; i++) {
          const a = ours.messages[i]!;
          const b = ref.messages[i]!;
          expect(a.head.method).toBe(b.method);
          expect(a.head.url).toBe(b.url);
          expect(a.head.raw).toEqual(b.raw);
          expect(a.body).toBe(b.body);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 3000) },
    );
  });

  it('the framing of every valid generated request is understood by both', () => {
    let accepted = 0;
    fc.assert(
      fc.property(requestText, (text) => {
        if (!parse('request', text).error) accepted++;
      }),
      { numRuns: 2000 },
    );
    // The generator must exercise the accepting side too, not only the rejections.
    expect(accepted).toBeGreaterThan(100);
  });
});
