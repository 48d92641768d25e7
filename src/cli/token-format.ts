/**
 * Output and option checks of `gatepass token`, shared by the full command and its fast path
 * (src/cli/fast-token.ts) so both print the same bytes. Imports nothing heavy.
 */
import type { TokenResult } from '../auth/types.js';
import { UsageError } from '../errors.js';

export const TOKEN_FORMATS = ['token', 'json', 'exec-credential'] as const;

export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1';

export function formatToken(result: TokenResult, format: string): string {
  switch (format) {
    case 'token':
      return `${result.token}\n`;
    case 'json':
      return `${JSON.stringify({
        token: result.token,
        expires_at: result.expiresAt === undefined ? null : Math.floor(result.expiresAt / 1000),
      })}\n`;
    case 'exec-credential':
      return `${JSON.stringify({
        apiVersion: EXEC_CREDENTIAL_API_VERSION,
        kind: 'ExecCredential',
        status: {
          token: result.token,
          ...(result.expiresAt === undefined
            ? {}
            : { expirationTimestamp: new Date(result.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') }),
        },
      })}\n`;
    default:
      throw new UsageError(`unknown --format "${format}"`, { hint: 'use token, json or exec-credential' });
  }
}

/** `--min-valid <seconds>` in milliseconds (undefined when not given). */
export function parseMinValid(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = Number(value);
  if (!Number.isFinite(s) || s < 0 || s > 86_400) {
    throw new UsageError(`--min-valid must be a number of seconds from 0 to 86400, got "${value}"`);
  }
  return s * 1000;
}
