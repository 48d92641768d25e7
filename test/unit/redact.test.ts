import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, describeError, GatepassError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import {
  clearRegisteredSecrets,
  formatOAuthError,
  REDACTED,
  redact,
  redactDeep,
  registerSecret,
  sanitizeOAuthError,
  stripControl,
} from '../../src/redact.js';

let rs256: string;
let es256: string;
let jwe: string;
let unsigned: string;

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256');
  rs256 = await new SignJWT({ sub: 'alice@example.com', scope: 'openid offline_access', aud: 'llm-gateway' })
    .setProtectedHeader({ alg: 'RS256', kid: 'key-1', typ: 'at+jwt' })
    .setIssuer('https://sso.example.com')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(rsa.privateKey);
  const ec = await generateKeyPair('ES256');
  es256 = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
  const enc = await generateKeyPair('RSA-OAEP-256');
  jwe = await new CompactEncrypt(new TextEncoder().encode('refresh-secret'))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
    .encrypt(enc.publicKey);
  unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
  void exportJWK;
});

describe('redact', () => {
  it('removes signed JWTs (RS256, ES256) wherever they appear', () => {
    for (const jwt of [rs256, es256]) {
      const out = redact(`got token ${jwt} from IdP`);
      expect(out).not.toContain(jwt);
      expect(out).not.toContain(jwt.split('.')[1]!);
      expect(out).not.toContain(jwt.split('.')[2]!);
      expect(out).toBe(`got token ${REDACTED} from IdP`);
    }
  });

  it('removes encrypted (5-part) JWEs and unsigned JWTs', () => {
    expect(redact(`x ${jwe} y`)).toBe(`x ${REDACTED} y`);
    expect(redact(`x ${unsigned} y`)).toBe(`x ${REDACTED} y`);
  });

  it('removes Authorization header values of any scheme, keeping the scheme', () => {
    expect(redact('Authorization: Bearer abcdef0123456789opaque')).not.toContain('abcdef0123456789opaque');
    expect(redact('authorization: Basic dXNlcjpwYXNzd29yZA==')).not.toContain('dXNlcjpwYXNzd29yZA==');
    expect(redact(`Bearer ${rs256}`)).toBe(`Bearer ${REDACTED}`);
    expect(redact('bearer zzzzzzzzzzzz')).toBe(`bearer ${REDACTED}`);
  });

  it('removes secrets in JSON bodies', () => {
    const body = JSON.stringify({
      access_token: 'opaque-access-123456',
      refresh_token: 'opaque-refresh-abcdef',
      id_token: rs256,
      token_type: 'Bearer',
      expires_in: 3600,
    });
    const out = redact(body);
    expect(out).not.toContain('opaque-access-123456');
    expect(out).not.toContain('opaque-refresh-abcdef');
    expect(out).not.toContain(rs256);
    expect(out).toContain('"token_type":"Bearer"');
    expect(out).toContain('"expires_in":3600');
  });

  it('removes secrets in form-encoded bodies and query strings', () => {
    const out = redact('grant_type=refresh_token&refresh_token=r3fr3sh-s3cr3t&client_id=gatepass');
    expect(out).not.toContain('r3fr3sh-s3cr3t');
    expect(out).toContain('client_id=gatepass');
    expect(out).toContain('grant_type=refresh_token');
    const cb = redact('GET /callback?code=auth-code-xyz&state=abc123');
    expect(cb).not.toContain('auth-code-xyz');
    expect(cb).toContain('state=abc123');
    expect(redact('code_verifier=verifier-value-0123456789')).not.toContain('verifier-value');
  });

  it('removes API-key headers and well-known key shapes', () => {
    expect(redact('x-api-key: sk-ant-api03-abcdefghijklmnopqrstuv')).not.toContain('abcdefghijklmnop');
    expect(redact('x-goog-api-key: AIzaSyA-1234567890abcdef')).not.toContain('AIzaSyA-1234567890abcdef');
    expect(redact('key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX used')).toBe(`key ${REDACTED} used`);
    expect(redact('gh token ghp_abcdefghijklmnopqrstuvwxyz0123')).not.toContain('ghp_');
    expect(redact('google ya29.a0AfH6SMBx-abcdefghijkl')).not.toContain('ya29.a0');
    expect(redact('local key gp_local_abcdefghijklmnopqrstuvwx')).not.toContain('gp_local_abc');
  });

  it('removes registered secrets of any shape', () => {
    registerSecret('plain-looking-value-42');
    expect(redact('the value plain-looking-value-42 leaked')).toBe(`the value ${REDACTED} leaked`);
    clearRegisteredSecrets();
    expect(redact('the value plain-looking-value-42 leaked')).toContain('plain-looking-value-42');
    registerSecret('short'); // too short to be registered safely
    expect(redact('short')).toBe('short');
  });

  it('removes real-looking refresh tokens of common IdPs wherever a log line names them', () => {
    // Keycloak (a JWT), Okta, Auth0, Entra ID, Google, Ping: opaque shapes need their field name.
    const refreshTokens = [
      rs256,
      '8xLOxBtZp8aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
      'v1.MTZmYjQ3ZDQtNzU0Yy00NmE3LWI5ZjAtNzNkMjk1ZjM2YjA0',
      '0.AXoA1ZpT3bjV-kqK8s1PqUfYbR2zQ9XyXwJ_AbCdEfGhIjKlMnOpQrStUvWx',
      '1//0gAbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEf',
      'Qk9UX1RPS0VOXzEyMzQ1Njc4OTA',
    ];
    for (const rt of refreshTokens) {
      for (const line of [
        `refresh_token: ${rt}`,
        `refresh_token = ${rt}`,
        `{"refresh_token":"${rt}","token_type":"Bearer"}`,
        `{ refresh_token: '${rt}' }`,
        `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}&client_id=gp`,
        `grant_type%3Drefresh_token%26refresh_token%3D${encodeURIComponent(rt)}`,
        `GATEPASS_REFRESH_TOKEN=${rt}`,
        `export GATEPASS_REFRESH_TOKEN="${rt}"`,
      ]) {
        const out = redact(line);
        expect(out, line).not.toContain(rt);
        expect(out, line).not.toContain(encodeURIComponent(rt));
        expect(out).toContain(REDACTED);
      }
    }
  });

  it('removes a JWT whose header does not start with eyJ', () => {
    const enc = (o: string) => Buffer.from(o).toString('base64url');
    const spaced = `${enc('{ "alg": "RS256" }')}.${enc('{ "sub": "alice", "exp": 1 }')}.c2lnbmF0dXJlLWJ5dGVz`;
    expect(spaced.startsWith('eyJ')).toBe(false);
    expect(redact(`token ${spaced} expired`)).toBe(`token ${REDACTED} expired`);
    // Three dotted words that are not base64 JSON stay: host names, file names.
    expect(redact('https://gateway-prod.corporate-example.internal-domain/v1')).toContain(
      'corporate-example',
    );
    expect(redact('config.yaml.snapshot.json')).toBe('config.yaml.snapshot.json');
  });

  it('removes tokens in environment assignments and JSON settings of other tools', () => {
    expect(redact('GATEPASS_TOKEN=opaque-abcdefghijk ./run.sh')).toBe(`GATEPASS_TOKEN=${REDACTED} ./run.sh`);
    expect(redact('export OPENAI_API_KEY="sk-live-abc"')).not.toContain('sk-live-abc');
    expect(redact('{"env":{"ANTHROPIC_AUTH_TOKEN":"opaque-123456"}}')).not.toContain('opaque-123456');
    expect(redact('{"x-api-key": "k-123456789"}')).not.toContain('k-123456789');
    expect(redact('Authorization: token ghs_opaque_abcdefghij')).not.toContain('opaque');
    expect(redact('Bearer abc_defghijklmnop')).toBe(`Bearer ${REDACTED}`);
    // Names that are not secrets, and placeholders, stay.
    expect(redact('GATEPASS_SECRET_STORE=file')).toBe('GATEPASS_SECRET_STORE=file');
    expect(redact('GEMINI_API_KEY=<redacted>')).toBe('GEMINI_API_KEY=<redacted>');
  });

  it('does not mangle prose that uses the words token, bearer or basic', () => {
    for (const s of [
      'a token command must print only the token (messages go to stderr)',
      'gatepass: no gateway token available (timeout). Run `gatepass login`.',
      'the cached token expired; refreshing',
      'Basic authentication failed',
      'the gateway expects the bearer scheme',
      'refresh_token: missing from the response',
      'apiKeyHelper: gatepass token --min-valid 600',
      'never the gateway token itself.',
      'refresh_token: missing.',
      // hints show the expected shape with placeholders
      'print {"token": "...", "expires_at": <epoch seconds>} or a bare token on stdout',
      '{"access_token": "<token>", "expires_in": 3600}',
    ]) {
      expect(redact(s)).toBe(s);
    }
  });

  it('leaves ordinary text alone', () => {
    const s = 'Logged in to https://llm.example.com as alice (expires in 59 min); proxy on 127.0.0.1:14000';
    expect(redact(s)).toBe(s);
    expect(redact('invalid oidc.issuer: must use https://')).toBe('invalid oidc.issuer: must use https://');
  });

  it('redactDeep masks secret-named keys and redacts nested strings', () => {
    const out = redactDeep({ token: 'x', nested: { msg: `Bearer ${rs256}`, list: [rs256] }, ok: 1 });
    expect(out).toEqual({ token: REDACTED, nested: { msg: `Bearer ${REDACTED}`, list: [REDACTED] }, ok: 1 });
  });
});

describe('sanitizeOAuthError', () => {
  it('keeps only error and error_description from a JSON body', () => {
    const body = {
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
      refresh_token: 'leaked-refresh-token',
      access_token: rs256,
      debug: { request: 'grant_type=refresh_token&refresh_token=leaked-refresh-token' },
    };
    expect(sanitizeOAuthError(body)).toEqual({
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    });
    expect(sanitizeOAuthError(JSON.stringify(body))).toEqual({
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    });
  });

  it('redacts tokens an IdP echoed inside error_description', () => {
    const e = sanitizeOAuthError({ error: 'invalid_token', error_description: `token ${rs256} expired` });
    expect(e.error_description).toBe(`token ${REDACTED} expired`);
  });

  it('handles form-encoded and non-OAuth bodies', () => {
    expect(sanitizeOAuthError('error=access_denied&error_description=User+denied&code=abc')).toEqual({
      error: 'access_denied',
      error_description: 'User denied',
    });
    expect(sanitizeOAuthError('<html>502 Bad Gateway</html>')).toEqual({ error: 'invalid_response' });
    expect(sanitizeOAuthError(null)).toEqual({ error: 'unknown_error' });
  });

  it('reads openid-client style errors (fields on the error or in cause)', () => {
    const err = Object.assign(new Error('server responded with an error'), {
      error: 'invalid_client',
      cause: { error: 'invalid_client', error_description: 'client authentication failed', id_token: rs256 },
    });
    expect(sanitizeOAuthError(err)).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    expect(formatOAuthError(err)).toBe('invalid_client: client authentication failed');
  });

  it('strips control characters and bounds length', () => {
    const e = sanitizeOAuthError({ error: 'bad\u001b[31m', error_description: 'x'.repeat(1000) });
    expect(e.error).toBe('bad');
    expect(e.error_description!.length).toBeLessThanOrEqual(301);
  });
});

describe('errors and logger never carry secrets', () => {
  it('GatepassError redacts its message and hint', () => {
    const err = new AuthError('E_AUTH_FAILED', `refresh failed for Bearer ${rs256}`, {
      hint: `token ${es256}`,
    });
    expect(err.message).not.toContain(rs256);
    expect(err.hint).not.toContain(es256);
    expect(err.code).toBe('E_AUTH_FAILED');
    expect(err.exitCode).toBe(1);
    expect(err).toBeInstanceOf(GatepassError);
  });

  it('ConfigError for invalid input exits 2 and names the field', () => {
    const err = new ConfigError('E_CONFIG_INVALID', 'invalid gateway_url: nope', { field: 'gateway_url' });
    expect(err.exitCode).toBe(2);
    expect(err.field).toBe('gateway_url');
  });

  it('logger redacts every line and hides debug unless verbose', () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    const quiet = createLogger({ stream });
    quiet.debug(`debug ${rs256}`);
    quiet.info(`info Bearer ${rs256}`);
    const loud = createLogger({ stream, verbose: true });
    loud.debug(`refresh_token=${'a'.repeat(20)}`);
    expect(lines).toHaveLength(2);
    expect(lines.join('')).not.toContain(rs256);
    expect(lines.join('')).not.toContain('a'.repeat(20));
  });
});

describe('stripControl: one sanitizer for server text', () => {
  const HOSTILE = [
    'tok\x1b]0;PWNED\x07', // OSC: set the terminal title
    '\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\', // OSC 8 hyperlink
    '\x1b[2J\x1b[H\x1b[31mred', // clear screen, home, colour
    '\x9b2J\x9d0;PWNED\x9c', // 8-bit CSI / OSC / ST
    'a\rb', // overwrite the line
    '\x1bPdevice control\x1b\\', // DCS string
    'bidi \u202euoy\u202c', // right-to-left override
    'bell\x07 nul\x00 del\x7f backspace\x08',
  ];

  it('leaves no control character, escape sequence or bidi override; keeps the visible text', () => {
    for (const s of HOSTILE) {
      const out = stripControl(s);
      expect(out, JSON.stringify(s)).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      expect(out).not.toContain('PWNED');
      expect(out).not.toContain('evil.test');
      expect(stripControl(s, { singleLine: true })).not.toContain('\n');
    }
    expect(stripControl('\x1b[2J\x1b[H\x1b[31mred')).toBe('red');
    expect(stripControl('a\rb')).toBe('a\nb');
    expect(stripControl('a\r\nb\tc', { singleLine: true })).toBe('a b c');
    expect(stripControl('plain: ünïcödé, emoji 🙂, "quotes"\nnext line')).toBe(
      'plain: ünïcödé, emoji 🙂, "quotes"\nnext line',
    );
  });

  it('every error message, hint and log line goes through it', () => {
    const e = new AuthError('E_AUTH_FAILED', 'the IdP said: \x1b]0;PWNED\x07\x1b[2Jsorry', {
      hint: 'try \x1b[5mnow',
    });
    expect(e.message).toBe('the IdP said: sorry');
    expect(e.hint).toBe('try now');
    expect(describeError(new Error('x\x1b]0;PWNED\x07y'))).toBe('xy');
    let out = '';
    const logger = createLogger({ verbose: true, stream: { write: (s: string) => (out += s) } as never });
    logger.warn('server says \x1b]0;PWNED\x07hi\x9b2J');
    logger.debug('body: \x1b[31mred\r overwritten');
    expect(out).toBe('gatepass: warning: server says hi\ngatepass: debug: body: red\n overwritten\n');
  });
});
