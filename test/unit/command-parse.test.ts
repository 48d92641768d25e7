import { describe, expect, it } from 'vitest';
import { jwtExpiry, MAX_OUTPUT_BYTES, parseExpiry, parseTokenOutput } from '../../src/auth/command/parse.js';
import { formatStderrTail } from '../../src/auth/command/run.js';
import { AuthError } from '../../src/errors.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const nowS = NOW / 1000;
const parse = (s: string | Uint8Array, ttlSeconds?: number) =>
  parseTokenOutput(typeof s === 'string' ? Buffer.from(s) : s, {
    now: NOW,
    label: 'token_command of provider "t"',
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
  });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: unknown) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.c2ln`;

function errorOf(fn: () => unknown): AuthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected an error');
}

describe('parseTokenOutput', () => {
  it('bare token, trimmed, with no expiry unless token_ttl says', () => {
    expect(parse('  tok-123  \n')).toEqual({ token: 'tok-123' });
    expect(parse('tok-123\n', 600)).toEqual({
      token: 'tok-123',
      expiresAt: NOW + 600_000,
      expirySource: 'ttl',
    });
    expect(parse('\uFEFFtok-bom\r\n').token).toBe('tok-bom');
  });

  it('JSON {token, expires_at} (seconds, milliseconds or ISO), refresh_token and metadata kept', () => {
    expect(parse(JSON.stringify({ token: 'a-token', expires_at: nowS + 3600 }))).toMatchObject({
      token: 'a-token',
      expiresAt: NOW + 3_600_000,
      expirySource: 'output',
    });
    expect(parse(JSON.stringify({ token: 'a-token', expires_at: NOW + 5000 })).expiresAt).toBe(NOW + 5000);
    const iso = new Date(NOW + 60_000 * 30).toISOString();
    expect(parse(JSON.stringify({ token: 'a-token', expires_at: iso })).expiresAt).toBe(NOW + 1_800_000);
    expect(
      parse(
        JSON.stringify({
          token: 'a-token',
          expires_at: nowS + 60,
          refresh_token: 'rt-1',
          metadata: { a: 1 },
        }),
      ),
    ).toMatchObject({ refreshToken: 'rt-1', metadata: { a: 1 } });
  });

  it('Google executable response, AWS-style Expiration, kubectl ExecCredential, OAuth expires_in', () => {
    expect(
      parse(
        JSON.stringify({
          version: 1,
          success: true,
          token_type: 'x',
          id_token: 'g-tok',
          expiration_time: nowS + 100,
        }),
      ),
    ).toMatchObject({ token: 'g-tok', expiresAt: NOW + 100_000 });
    expect(
      parse(
        JSON.stringify({ Version: 1, Token: 'aws-tok', Expiration: new Date(NOW + 7_200_000).toISOString() }),
      ),
    ).toMatchObject({ token: 'aws-tok', expiresAt: NOW + 7_200_000 });
    expect(
      parse(
        JSON.stringify({
          kind: 'ExecCredential',
          status: { token: 'k8s-tok', expirationTimestamp: new Date(NOW + 900_000).toISOString() },
        }),
      ),
    ).toMatchObject({ token: 'k8s-tok', expiresAt: NOW + 900_000 });
    expect(parse(JSON.stringify({ access_token: 'oa-tok', expires_in: 300 })).expiresAt).toBe(NOW + 300_000);
  });

  it("uses a JWT's exp when the output states no expiry, before token_ttl", () => {
    const t = jwt({ sub: 'x', exp: nowS + 1200 });
    expect(parse(t, 60)).toEqual({ token: t, expiresAt: NOW + 1_200_000, expirySource: 'jwt' });
    expect(jwtExpiry('not.a.jwt')).toBeUndefined();
    expect(jwtExpiry(`${b64({ alg: 'none' })}.!!!.x`)).toBeUndefined();
  });

  it('Google executable failure reports its code and message', () => {
    const e = errorOf(() =>
      parse(JSON.stringify({ version: 1, success: false, code: '401', message: 'bad creds' })),
    );
    expect(e.message).toMatch(/reported failure \(code 401: bad creds\)/);
  });

  it('clear errors for empty, non-UTF-8, oversized, multi-line, malformed JSON, expired, unsafe characters', () => {
    expect(errorOf(() => parse('  \n')).message).toMatch(/printed nothing on stdout/);
    expect(errorOf(() => parse(Buffer.from([0x74, 0xff, 0xfe]))).message).toMatch(/not valid UTF-8/);
    const big = Buffer.alloc(MAX_OUTPUT_BYTES + 1, 0x61);
    expect(errorOf(() => parse(big)).message).toMatch(/more than 64 KiB/);
    expect(errorOf(() => parse('Opening browser...\ntok-123\n')).message).toMatch(/several lines/);
    expect(errorOf(() => parse('{"token": "tok-secret-123",')).message).toMatch(/not valid JSON/);
    expect(errorOf(() => parse('{"tok": "x"}')).message).toMatch(/JSON without a token/);
    expect(errorOf(() => parse(JSON.stringify({ token: 'a-token', expires_at: nowS - 1 }))).message).toMatch(
      /already expired/,
    );
    expect(errorOf(() => parse(JSON.stringify({ token: 'a-token', expires_at: 'soon' }))).message).toMatch(
      /unreadable expires_at/,
    );
    expect(errorOf(() => parse('{"token": "two words"}')).message).toMatch(/characters a token may not hold/);
    expect(errorOf(() => parse('tok\u0007x')).code).toBe('E_TOKEN_COMMAND');
    // Quotes and backslashes would close or escape a quoted value in a dotenv file or a shell line.
    for (const bad of [`tok"x`, "tok'x", 'tok\\x', 'tok`x', '{"token": "tok\\u001b]0;PWNED\\u0007"}']) {
      expect(errorOf(() => parse(bad)).message, bad).toMatch(/characters a token may not hold/);
    }
  });

  it('never quotes the output in an error', () => {
    const secret = 'sEcReT-vAlUe-0123456789';
    for (const out of [`{"token": "${secret}"`, `line\n${secret}`, `{"nope": "${secret}"}`, `${secret} x`]) {
      const e = errorOf(() => parse(out));
      expect(e.message).not.toContain(secret);
      expect(e.hint ?? '').not.toContain(secret);
    }
  });
});

describe('parseExpiry', () => {
  it('reads epoch seconds, milliseconds, numeric strings and ISO 8601', () => {
    expect(parseExpiry(1_800_000_000)).toBe(1_800_000_000_000);
    expect(parseExpiry(1_800_000_000_123)).toBe(1_800_000_000_123);
    expect(parseExpiry('1800000000')).toBe(1_800_000_000_000);
    expect(parseExpiry('2027-01-01T00:00:00Z')).toBe(Date.UTC(2027, 0, 1));
    expect(parseExpiry('tomorrow')).toBeUndefined();
    expect(parseExpiry(-5)).toBeUndefined();
  });
});

describe('formatStderrTail', () => {
  it('keeps the last lines, strips escapes and control characters, redacts', () => {
    const tail = formatStderrTail(
      'one\ntwo\nthree\n\x1b[31mfour\x1b[0m\nfive\nAuthorization: Bearer abcdefghijkl123\r\n',
    );
    expect(tail.split('\n')).toEqual(['two', 'three', 'four', 'five', 'Authorization: [REDACTED]']);
  });
});
