import { describe, expect, it } from 'vitest';
import { escapeHtml, judgeCallback, requestUrl, resultPage } from '../../src/auth/oidc/callback.js';

const u = (q: string, p = '/callback') => new URL(`http://127.0.0.1:8666${p}?${q}`);

describe('callback validation', () => {
  it('accepts exactly the expected state with a code', () => {
    expect(judgeCallback('GET', u('code=abc&state=s1&iss=x'), 's1')).toEqual({ kind: 'ok', status: 200 });
  });

  it('ignores other paths and methods (favicon, probes)', () => {
    expect(judgeCallback('GET', u('', '/favicon.ico'), 's1').kind).toBe('ignore');
    expect(judgeCallback('POST', u('code=a&state=s1'), 's1').kind).toBe('ignore');
  });

  it('refuses a wrong, missing or duplicated state without ending the wait', () => {
    expect(judgeCallback('GET', u('code=a&state=other'), 's1').kind).toBe('reject');
    expect(judgeCallback('GET', u('code=a'), 's1').kind).toBe('reject');
    expect(judgeCallback('GET', u('code=a&state=s1&state=s1'), 's1').kind).toBe('reject');
    // An IdP error with a forged state must not abort the login either.
    expect(judgeCallback('GET', u('error=access_denied&state=evil'), 's1').kind).toBe('reject');
  });

  it('refuses a missing or duplicated code', () => {
    expect(judgeCallback('GET', u('state=s1'), 's1').kind).toBe('reject');
    expect(judgeCallback('GET', u('state=s1&code='), 's1').kind).toBe('reject');
    expect(judgeCallback('GET', u('state=s1&code=a&code=b'), 's1').kind).toBe('reject');
  });

  it('reports an IdP error carrying the right state', () => {
    expect(judgeCallback('GET', u('error=access_denied&error_description=nope&state=s1'), 's1')).toEqual({
      kind: 'error',
      status: 200,
      error: 'access_denied',
      description: 'nope',
    });
  });

  it('escapes everything interpolated into the result page', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;',
    );
    const page = resultPage('Login failed', '<img src=x onerror=alert(1)>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&#60;img');
  });
});

describe('request targets', () => {
  const origin = 'http://127.0.0.1:8666';
  it('takes the origin-form target of a browser redirect', () => {
    expect(requestUrl(origin, '/callback?code=a&state=s1')?.href).toBe(
      'http://127.0.0.1:8666/callback?code=a&state=s1',
    );
  });

  it('refuses absolute-form, asterisk, missing and unparsable targets without throwing', () => {
    for (const bad of ['http://evil.example/callback?code=a&state=s1', 'http://[', '*', '', undefined]) {
      expect(requestUrl(origin, bad)).toBeUndefined();
    }
  });

  it('keeps a protocol-relative-looking path on the callback origin (and off /callback)', () => {
    const url = requestUrl(origin, '//evil.example/callback?code=a&state=s1')!;
    expect(url.origin).toBe(origin);
    expect(judgeCallback('GET', url, 's1').kind).toBe('ignore');
  });
});
