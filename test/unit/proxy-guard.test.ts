import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectDialect, errorBody } from '../../src/proxy/dialect.js';
import { checkRequest, isAllowedHost, presentedKeys } from '../../src/proxy/guard.js';
import { downstreamRawHeaders, upstreamPath, upstreamRequestHeaders } from '../../src/proxy/headers.js';
import { generateLocalProxyKey, localKeyMatches } from '../../src/secrets/local-key.js';

const KEY = generateLocalProxyKey();

describe('isAllowedHost', () => {
  it.each([
    ['127.0.0.1:14000', true],
    ['localhost:14000', true],
    ['LOCALHOST:14000', true],
    ['[::1]:14000', true],
    ['127.0.0.1:14001', false],
    ['127.0.0.1', false],
    ['evil.example:14000', false],
    ['evil.example', false],
    ['localhost.evil.example:14000', false],
    ['localhost.:14000', false],
    ['127.0.0.1.nip.io:14000', false],
    ['[::1]', false],
    ['[::1]x:14000', false],
    ['[::2]:14000', false],
    ['0.0.0.0:14000', false],
    ['127.0.0.1:14000:1', false],
    ['127.0.0.1:+14000', false],
    ['', false],
  ])('%s → %s', (host, ok) => {
    expect(isAllowedHost(host, 14000)).toBe(ok);
  });

  it('accepts a port-less loopback Host only on port 80', () => {
    expect(isAllowedHost('localhost', 80)).toBe(true);
    expect(isAllowedHost(undefined, 80)).toBe(false);
  });

  it('never accepts a non-loopback name, whatever the port', () => {
    fc.assert(
      fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (d, port) => {
        fc.pre(d !== 'localhost');
        return !isAllowedHost(`${d}:${port}`, port);
      }),
    );
  });
});

describe('presentedKeys / checkRequest', () => {
  const ok = { host: '127.0.0.1:14000' };
  const opts = { port: 14000, localKey: KEY };

  it('finds keys in Authorization, x-api-key, x-goog-api-key and ?key=', () => {
    expect(
      presentedKeys(
        { authorization: 'Bearer a', 'x-api-key': 'b', 'x-goog-api-key': 'c' },
        new URLSearchParams('key=d'),
      ),
    ).toEqual(['a', 'b', 'c', 'd']);
    expect(presentedKeys({ authorization: 'Basic xyz' }, undefined)).toEqual([]);
  });

  it('accepts the local key in any slot', () => {
    expect(checkRequest({ ...ok, authorization: `Bearer ${KEY}` }, undefined, opts).ok).toBe(true);
    expect(checkRequest({ ...ok, 'x-api-key': KEY }, undefined, opts).ok).toBe(true);
    expect(checkRequest({ ...ok, 'x-goog-api-key': KEY }, undefined, opts).ok).toBe(true);
    expect(checkRequest(ok, new URLSearchParams({ key: KEY }), opts).ok).toBe(true);
    // Claude Code sends the same key in both headers; Gemini may send an empty one next to ?key=.
    expect(checkRequest({ ...ok, 'x-goog-api-key': '' }, new URLSearchParams({ key: KEY }), opts).ok).toBe(
      true,
    );
  });

  it('refuses a missing, wrong or truncated key', () => {
    expect(checkRequest(ok, undefined, opts)).toMatchObject({ ok: false, reason: 'key' });
    expect(checkRequest({ ...ok, 'x-api-key': KEY.slice(0, -1) }, undefined, opts)).toMatchObject({
      ok: false,
      reason: 'key',
    });
    expect(checkRequest({ ...ok, 'x-api-key': `${KEY}x` }, undefined, opts).ok).toBe(false);
  });

  it('the quick slots (x-api-key, then Bearer) agree with the full search: a wrong key there still lets another slot match', () => {
    // A wrong x-api-key next to the right bearer token (and the reverse), odd bearer spellings the
    // full parser accepts, and near misses of the key in each slot.
    const wrong = `${KEY.slice(0, -1)}${KEY.endsWith('A') ? 'B' : 'A'}`;
    expect(
      checkRequest({ ...ok, 'x-api-key': wrong, authorization: `Bearer ${KEY}` }, undefined, opts).ok,
    ).toBe(true);
    expect(
      checkRequest({ ...ok, 'x-api-key': KEY, authorization: `Bearer ${wrong}` }, undefined, opts).ok,
    ).toBe(true);
    expect(checkRequest({ ...ok, authorization: `bearer   ${KEY}` }, undefined, opts).ok).toBe(true);
    expect(checkRequest({ ...ok, authorization: `BEARER ${KEY}` }, undefined, opts).ok).toBe(true);
    expect(checkRequest({ ...ok, 'x-api-key': wrong }, new URLSearchParams({ key: KEY }), opts).ok).toBe(
      true,
    );
    for (const near of [wrong, KEY.slice(1), `${KEY}x`, KEY.toUpperCase(), `${KEY}\u0100`]) {
      expect(checkRequest({ ...ok, 'x-api-key': near }, undefined, opts).ok, near).toBe(false);
      expect(checkRequest({ ...ok, authorization: `Bearer ${near}` }, undefined, opts).ok, near).toBe(false);
    }
  });

  it('localKeyMatches: equal keys only — every length, every position of a difference, non-ASCII look-alikes', () => {
    expect(localKeyMatches(KEY, KEY)).toBe(true);
    expect(localKeyMatches(undefined, KEY)).toBe(false);
    expect(localKeyMatches('', KEY)).toBe(false);
    for (let i = 0; i < KEY.length; i++) {
      const c = KEY.charCodeAt(i);
      // One code unit off at each position, including one that only differs above the low byte.
      for (const d of [c ^ 1, c + 0x100]) {
        const near = KEY.slice(0, i) + String.fromCharCode(d) + KEY.slice(i + 1);
        expect(localKeyMatches(near, KEY), `position ${i}`).toBe(false);
      }
      expect(localKeyMatches(KEY.slice(0, i), KEY)).toBe(false);
    }
    expect(localKeyMatches(`${KEY}${KEY}`, KEY)).toBe(false);
  });

  it('refuses browser requests and bad hosts before looking at the key', () => {
    expect(checkRequest({ ...ok, origin: 'null', 'x-api-key': KEY }, undefined, opts)).toMatchObject({
      reason: 'origin',
    });
    expect(
      checkRequest({ ...ok, 'sec-fetch-site': 'cross-site', 'x-api-key': KEY }, undefined, opts),
    ).toMatchObject({ reason: 'origin' });
    expect(checkRequest({ host: 'evil.example', 'x-api-key': KEY }, undefined, opts)).toMatchObject({
      reason: 'host',
    });
    expect(checkRequest({ host: 'evil.example' }, undefined, { ...opts, skipKey: true }).ok).toBe(false);
  });

  it('the refusal message never contains the key', () => {
    const r = checkRequest({ host: 'x', 'x-api-key': KEY }, undefined, opts);
    expect(JSON.stringify(r)).not.toContain(KEY);
  });
});

describe('dialects', () => {
  it('detects the API from the path and headers', () => {
    expect(detectDialect('/v1/chat/completions', {})).toBe('openai');
    expect(detectDialect('/v1/responses', {})).toBe('openai');
    expect(detectDialect('/v1/messages?beta=true', {})).toBe('anthropic');
    expect(detectDialect('/anthropic/v1/complete', {})).toBe('anthropic');
    expect(detectDialect('/anything', { 'anthropic-version': '2023-06-01' })).toBe('anthropic');
    expect(detectDialect('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', {})).toBe('google');
    expect(detectDialect('/v1/models/gemini:generateContent', {})).toBe('google');
    expect(detectDialect('/x', { 'x-goog-api-key': '' })).toBe('google');
  });

  it('shapes error bodies like each API', () => {
    expect(errorBody('openai', 'auth', 401, 'm')).toEqual({
      error: { message: 'm', type: 'authentication_error', code: 'gatepass_auth' },
    });
    expect(errorBody('anthropic', 'timeout', 504, 'm')).toEqual({
      type: 'error',
      error: { type: 'timeout_error', message: 'm' },
    });
    expect(errorBody('google', 'bad_gateway', 502, 'm')).toEqual({
      error: { code: 502, message: 'm', status: 'UNAVAILABLE' },
    });
  });
});

describe('header rewriting', () => {
  it('drops client credentials, hop-by-hop and Connection-named headers; sets the bearer', () => {
    const out = upstreamRequestHeaders(
      {
        host: '127.0.0.1:14000',
        authorization: `Bearer ${KEY}`,
        'x-api-key': KEY,
        'x-goog-api-key': KEY,
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic x',
        te: 'trailers',
        upgrade: 'h2c',
        expect: '100-continue',
        'transfer-encoding': 'chunked',
        'content-length': '12',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'a,b',
        'content-type': 'application/json',
        'x-multi': ['1', '2'],
      },
      { token: 'TOKEN', keepContentLength: false },
    );
    expect(out).toEqual({
      authorization: 'Bearer TOKEN',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'a,b',
      'content-type': 'application/json',
      'x-multi': ['1', '2'],
    });
    expect(
      upstreamRequestHeaders({ 'content-length': '12' }, { token: 't', keepContentLength: true })[
        'content-length'
      ],
    ).toBe('12');
  });

  it('drops hop-by-hop response headers (and Connection-named ones), keeps the rest in order', () => {
    const raw = [
      'Connection',
      'close, X-Hop',
      'Transfer-Encoding',
      'chunked',
      'Keep-Alive',
      'timeout=5',
      'X-Hop',
      '1',
      'Content-Type',
      'text/event-stream',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'x-request-id',
      'caf\u00e9',
    ].map((x) => Buffer.from(x, 'latin1'));
    expect(downstreamRawHeaders(raw)).toEqual({
      headers: [
        'Content-Type',
        'text/event-stream',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'x-request-id',
        'caf\u00e9',
      ],
      sized: false,
    });
    expect(downstreamRawHeaders(['Content-Length', '2']).sized).toBe(true);
  });

  it('joins the gateway path prefix and removes ?key=', () => {
    expect(upstreamPath('', '/v1/models')).toBe('/v1/models');
    expect(upstreamPath('/openai/', '/v1/models')).toBe('/openai/v1/models');
    expect(upstreamPath('/api', '/v1/messages?beta=true')).toBe('/api/v1/messages?beta=true');
    expect(upstreamPath('/g', '/v1beta/models/m:generateContent?key=K&alt=sse')).toBe(
      '/g/v1beta/models/m:generateContent?alt=sse',
    );
    expect(upstreamPath('', '/x?key=K')).toBe('/x');
    expect(upstreamPath('', '/x?monkey=1')).toBe('/x?monkey=1');
  });

  it('the guard and the stripper read the query with one parser: every accepted spelling is removed', () => {
    const opts = { port: 14000, localKey: KEY };
    const host = { host: '127.0.0.1:14000' };
    for (const q of [`key=${KEY}`, `%6bey=${KEY}`, `k%65y=${KEY}`, `%6B%65%79=${KEY}`, `key=a&key=${KEY}`]) {
      expect(checkRequest(host, q, opts).ok, q).toBe(true);
      expect(presentedKeys({}, q)).toContain(KEY);
      expect(upstreamPath('', `/x?${q}&alt=sse`), q).toBe('/x?alt=sse');
    }
    // Not the key parameter: neither accepted nor removed; other parameters keep their bytes.
    for (const q of [`KEY=${KEY}`, `key%20=${KEY}`, `keys=${KEY}`, `%256bey=${KEY}`]) {
      expect(checkRequest(host, q, opts).ok, q).toBe(false);
      expect(upstreamPath('', `/x?${q}`), q).toBe(`/x?${q}`);
    }
    expect(upstreamPath('', '/x?a=%20b+c&&key=K&%zz=1')).toBe('/x?a=%20b+c&&%zz=1');
    expect(checkRequest(host, `%zz=1&key=${KEY}`, opts).ok).toBe(true);
  });
});
