/**
 * config/token-ref-expiry.ts: the in-place edit of token_ref.expires_at after a refresh — done on
 * the layout gatepass writes, declined (the YAML library writes instead) whenever the text is not
 * unambiguous. The YAML parser checks each accepted edit.
 */

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { editTokenRefExpiry } from '../../src/config/token-ref-expiry.js';

const CONFIG = `# gatepass configuration
default_provider: default
providers:
  default:
    type: oidc
    gateway_url: https://llm.example.com
    oidc:
      issuer: https://sso.example.com
      client_id: gatepass
    token_ref:
      secret_key: LLM_OAUTH_1a2b3c4d
      expires_at: 1767225600
      identity:
        sub: user-1
        email: user@example.com
  other:
    type: command
`;

describe('editTokenRefExpiry', () => {
  it('changes only the number on the layout gatepass writes; the parser reads the new value', () => {
    const out = editTokenRefExpiry(CONFIG, 'default', 1767225600, 1767229200)!;
    expect(out).toBe(CONFIG.replace('expires_at: 1767225600', 'expires_at: 1767229200'));
    const before = parse(CONFIG);
    before.providers.default.token_ref.expires_at = 1767229200;
    expect(parse(out)).toEqual(before);
  });

  it('declines when the old value differs, or for another provider', () => {
    expect(editTokenRefExpiry(CONFIG, 'default', 1, 2)).toBeUndefined();
    expect(editTokenRefExpiry(CONFIG, 'other', 1767225600, 2)).toBeUndefined();
  });

  it.each([
    ['a second expires_at anywhere', `${CONFIG}# expires_at: 1\n`],
    ['a block scalar holding the text', CONFIG.replace('    token_ref:\n', '    token_ref: |\n')],
    [
      'a flow mapping',
      CONFIG.replace(
        / {4}token_ref:\n {6}secret_key: (\S+)\n {6}expires_at: (\d+)\n/,
        '    token_ref: {secret_key: $1, expires_at: $2}\n',
      ),
    ],
    ['a quoted value in the block', CONFIG.replace('sub: user-1', 'sub: "user-1"')],
    ['a comment in the block', CONFIG.replace('      identity:\n', '      # who\n      identity:\n')],
    ['an anchor in the block', CONFIG.replace('sub: user-1', 'sub: &a user-1')],
    ['tabs', CONFIG.replace('# gatepass', '#\tgatepass')],
    ['CRLF line ends', CONFIG.replace(/\n/g, '\r\n')],
    ['a document marker', `---\n${CONFIG}`],
    ['token_ref under something else', CONFIG.replace('providers:', 'elsewhere:')],
    ['a quoted key', CONFIG.replace('expires_at: 1767225600', '"expires_at": 1767225600')],
  ])('declines %s', (_what, text) => {
    expect(editTokenRefExpiry(text, 'default', 1767225600, 1767229200)).toBeUndefined();
  });
});
