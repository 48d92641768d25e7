/** mapOidcError: non-OAuth HTTP answers and failed response checks get a clear, specific error. */
import { PassThrough } from 'node:stream';
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { mapOidcError } from '../../src/auth/oidc/client.js';
import { reportError } from '../../src/cli/run.js';
import { AuthError } from '../../src/errors.js';

const ISSUER = 'https://sso.example.test';

/** The shape openid-client throws for an unexpected status: message, then OPE, then the Response. */
function statusError(status: number, statusText = ''): Error {
  const response = new Response('<html>oops</html>', { status, statusText });
  const ope = Object.assign(
    new Error('"response" is not a conform Token Endpoint response (unexpected HTTP status code)', {
      cause: response,
    }),
    {
      code: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
    },
  );
  return new Error('unexpected HTTP response status code', { cause: ope });
}

describe('mapOidcError', () => {
  it('5xx: E_AUTH_UNAVAILABLE naming the status (transient: keep the refresh token, retry later)', () => {
    const e = mapOidcError(statusError(503, 'Service Unavailable'), 'refresh', ISSUER);
    expect(e).toBeInstanceOf(AuthError);
    expect(e.code).toBe('E_AUTH_UNAVAILABLE');
    expect(e.message).toBe(
      `the identity provider at ${ISSUER} failed the refresh with HTTP 503 Service Unavailable`,
    );
    expect(e.hint).toContain('try again');
  });

  it('other non-OAuth statuses: E_AUTH_FAILED naming the status, with a hint about the URL', () => {
    const e = mapOidcError(statusError(404), 'discovery', ISSUER);
    expect(e.code).toBe('E_AUTH_FAILED');
    expect(e.message).toContain('answered the discovery with HTTP 404');
    expect(e.hint).toContain('issuer URL');
  });

  it('a failed response check names the check, not just "invalid response encountered"', () => {
    const check = Object.assign(new Error('unexpected "iss" (issuer) response parameter value'), {
      code: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
    });
    const e = mapOidcError(
      new Error('invalid response encountered', { cause: check }),
      'code exchange',
      ISSUER,
    );
    expect(e.message).toBe(
      'code exchange failed: invalid response encountered (unexpected "iss" (issuer) response parameter value)',
    );
  });

  it('an OAuth error body is reduced to error + error_description, even with -v', () => {
    const echoed = 'opaque-refresh-Zq81xXyYbB7cC6dD';
    const body = {
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
      refresh_token: echoed,
      request: `grant_type=refresh_token&refresh_token=${echoed}`,
    };
    const err = new oidc.ResponseBodyError('server responded with an error in the response body', {
      cause: body,
      response: new Response(JSON.stringify(body), { status: 400 }),
    });
    const e = mapOidcError(err, 'refresh', ISSUER);
    expect(e.code).toBe('E_AUTH_FAILED');
    expect(e.message).toBe(
      'the identity provider refused the refresh: invalid_grant: grant request is invalid',
    );
    expect(e.hint).toBe('run `gatepass login` again');
    let printed = '';
    const stderr = new PassThrough().on('data', (d: Buffer) => {
      printed += d.toString('utf8');
    });
    expect(reportError(e, { stderr }, true)).toBe(1);
    expect(printed).toContain('invalid_grant: grant request is invalid');
    expect(printed).not.toContain(echoed);
  });
});
