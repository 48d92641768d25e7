/** The pasted redirect address of a remote login, judged as the callback server would. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parsePastedRedirect, readPastedLine } from '../../src/auth/oidc/paste.js';

const REDIRECT = 'http://127.0.0.1:8666/callback';

describe('parsePastedRedirect', () => {
  it('accepts the full address, or only its query', () => {
    const full = parsePastedRedirect(`  ${REDIRECT}?code=abc&state=s1&iss=x \r`, REDIRECT, 's1');
    expect(full.searchParams.get('code')).toBe('abc');
    expect(parsePastedRedirect('?code=abc&state=s1', REDIRECT, 's1').href).toBe(
      `${REDIRECT}?code=abc&state=s1`,
    );
    expect(parsePastedRedirect('code=abc&state=s1', REDIRECT, 's1').href).toBe(
      `${REDIRECT}?code=abc&state=s1`,
    );
  });

  it.each([
    ['not a url', /not a URL/],
    [`http://127.0.0.1:9999/callback?code=a&state=s1`, /not the login redirect/],
    [`${REDIRECT}x?code=a&state=s1`, /not the login redirect/],
    [`${REDIRECT}?code=a&state=other`, /refused: This login response does not belong/],
    [`${REDIRECT}?code=a&state=s1&state=s1`, /refused/],
    [`${REDIRECT}?state=s1`, /refused: The login response has no authorization code/],
    [
      `${REDIRECT}?state=s1&error=access_denied&error_description=no%1b[31m`,
      /identity provider: access_denied: no/,
    ],
  ])('refuses %j', (line, message) => {
    expect(() => parsePastedRedirect(line, REDIRECT, 's1')).toThrow(message);
  });
});

describe('readPastedLine', () => {
  it('skips blank lines and resolves with the first line', async () => {
    const input = new PassThrough();
    const { line } = readPastedLine(input);
    input.write('\n  \nhttp://x/callback?code=1\nnext\n');
    await expect(line).resolves.toBe('http://x/callback?code=1');
  });

  it('fails clearly at end of input', async () => {
    const input = new PassThrough();
    const { line } = readPastedLine(input);
    input.end();
    await expect(line).rejects.toThrow(/no redirect address was pasted/);
  });
});
