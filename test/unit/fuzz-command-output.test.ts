/**
 * Property-based: whatever a token command prints, parsing either yields a header-safe token or
 * throws an AuthError (E_TOKEN_COMMAND) whose message and hint never contain what was printed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTokenOutput } from '../../src/auth/command/parse.js';
import { AuthError } from '../../src/errors.js';

const NOW = Date.UTC(2026, 10, 25);
const secretish = fc.stringMatching(/^[A-Za-z0-9]{20,40}$/);

const outputs = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  secretish.map((s) => Buffer.from(s)),
  fc
    .tuple(secretish, fc.jsonValue())
    .map(([s, v]) => Buffer.from(JSON.stringify({ token: s, expires_at: v }))),
  fc.tuple(secretish, fc.string()).map(([s, junk]) => Buffer.from(`{"token": "${s}"${junk}`)),
  fc.tuple(secretish, fc.string()).map(([s, junk]) => Buffer.from(`${junk}\n${s}\n${junk}`)),
  fc
    .tuple(secretish, fc.constantFrom('id_token', 'access_token', 'Token', 'saml_response'))
    .map(([s, k]) => Buffer.from(JSON.stringify({ [k]: s, expiration_time: 'x' }))),
);

describe('parseTokenOutput (property)', () => {
  it('a safe token or an AuthError that never quotes the output', () => {
    fc.assert(
      fc.property(outputs, fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }), (buf, ttl) => {
        const text = Buffer.from(buf).toString('utf8');
        try {
          const r = parseTokenOutput(buf, { now: NOW, ...(ttl !== undefined ? { ttlSeconds: ttl } : {}) });
          expect(r.token).toMatch(/^[\x21-\x7e]+$/);
          if (r.expiresAt !== undefined) expect(r.expiresAt).toBeGreaterThan(NOW);
        } catch (err) {
          expect(err).toBeInstanceOf(AuthError);
          expect((err as AuthError).code).toBe('E_TOKEN_COMMAND');
          for (const piece of text.match(/[A-Za-z0-9]{20,}/g) ?? []) {
            expect((err as AuthError).message).not.toContain(piece);
            expect((err as AuthError).hint ?? '').not.toContain(piece);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
