/**
 * The first thing a command provider's token source looks at: `auth.env_var`, when set and
 * non-empty, always wins (CI, manual override).
 */
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { isSafeToken, TOKEN_RULE } from '../token-chars.js';
import type { TokenResult } from '../types.js';
import { jwtExpiry } from './parse.js';
import type { CommandSourceState } from './source-state.js';

export function fromEnv(s: CommandSourceState): TokenResult | undefined {
  const { auth, ctx, name } = s;
  if (!auth.env_var) return undefined;
  const value = ctx.env[auth.env_var]?.trim();
  if (!value) return undefined;
  if (!isSafeToken(value)) {
    throw new AuthError(
      'E_AUTH_FAILED',
      `environment variable ${auth.env_var} (auth.env_var of provider "${name}") holds characters a token may not hold (only ${TOKEN_RULE})`,
      { hint: `set it to the bare token, or unset it to use the token command` },
    );
  }
  registerSecret(value);
  const exp = jwtExpiry(value);
  return exp === undefined
    ? { token: value, origin: 'env' }
    : { token: value, expiresAt: exp, origin: 'env' };
}
