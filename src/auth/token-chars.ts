/**
 * The one rule for the characters of a token gatepass hands out (command providers, `auth.env_var`,
 * OIDC access and ID tokens): visible ASCII without quotes or backslashes. A token goes into an HTTP
 * header, environment variables, `gatepass env` output (shell, dotenv, instrumentation args) and
 * onto a terminal (`gatepass token`); no control character, whitespace, quote or backslash can end a
 * header, add a line, close a quoted value or drive the terminal. Real tokens (JWTs, base64 /
 * base64url / hex opaque tokens, `ya29.…`, `gho_…`) never use them.
 */

import { AuthError } from '../errors.js';

// 0x21–0x7e without " (0x22), ' (0x27), \ (0x5c) and ` (0x60).
const TOKEN_SAFE = /^[\x21\x23-\x26\x28-\x5b\x5d-\x5f\x61-\x7e]+$/;

/** The rule, in words, for error messages. */
export const TOKEN_RULE = 'visible ASCII without spaces, quotes, backslashes or control characters';

export function isSafeToken(value: string): boolean {
  return TOKEN_SAFE.test(value);
}

/**
 * Refuse an IdP token response whose access or ID token breaks the rule, before anything uses or
 * stores it. The message names which token and never quotes it.
 */
export function assertSafeIdpTokens(tokens: { access_token?: string; id_token?: string }): void {
  for (const [field, what] of [
    ['access_token', 'an access token'],
    ['id_token', 'an ID token'],
  ] as const) {
    const value = tokens[field];
    if (typeof value === 'string' && !isSafeToken(value)) {
      throw new AuthError(
        'E_AUTH_FAILED',
        `the identity provider returned ${what} with characters a token may not hold (only ${TOKEN_RULE}); it was neither used nor stored`,
        {
          hint: 'this is a problem at the identity provider (or something between you and it); report it to its administrators',
        },
      );
    }
  }
}
