/**
 * Property-based tests over configuration input and redaction: whatever a user types or a file
 * holds, gatepass answers with a ConfigError naming a field (never a crash), and no secret shape
 * survives redaction.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyAssignments, parseAssignments } from '../../src/config/edit.js';
import { emptyConfig } from '../../src/config/schema.js';
import { FIELDS, normalizeConfig, parseFieldInput, validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { REDACTED, redact, sanitizeOAuthError } from '../../src/redact.js';

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom('http://example.com', 'https://', '::1', '0', '65536', '-1', ' ', 'openid email', '\u0000'),
);

describe('config input never crashes', () => {
  it('parseFieldInput accepts or throws a ConfigError naming the field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), anyText, (spec, raw) => {
        try {
          parseFieldInput(spec, raw);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).field).toBe(spec.key);
          expect((err as ConfigError).exitCode).toBe(2);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepted values always pass full validation of a config built from them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...FIELDS), anyText), { maxLength: 6 }), (pairs) => {
        const cfg = emptyConfig();
        try {
          applyAssignments(cfg, 'default', parseAssignments(pairs.map(([f, v]) => [f.key, v] as const)));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          return;
        }
        try {
          validateConfig(cfg);
        } catch (err) {
          // only cross-field rules may reject a config whose fields were each accepted
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message).toMatch(/differ from|needs auth/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('normalizeConfig on arbitrary documents returns a config or a malformed-file error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (raw) => {
        try {
          const cfg = normalizeConfig(raw, '/tmp/config.yaml');
          expect(typeof cfg.default_provider).toBe('string');
          try {
            validateConfig(cfg, { full: true });
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).code).toBe('E_CONFIG_MALFORMED');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('normalizeConfig on provider-shaped documents with random leaves never crashes', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()));
    const doc = fc.record(
      {
        providers: fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }),
          fc.record(
            {
              type: fc.oneof(fc.constantFrom('oidc', 'command'), leaf),
              gateway_url: leaf,
              oidc: fc.record(
                { issuer: leaf, client_id: leaf, scopes: leaf, callback_port: leaf },
                { requiredKeys: [] },
              ),
              auth: fc.record({ env_var: leaf, token_command: leaf, token_ttl: leaf }, { requiredKeys: [] }),
            },
            { requiredKeys: [] },
          ),
        ),
        proxy: fc.record({ listen_port: leaf }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(doc, (raw) => {
        try {
          validateConfig(normalizeConfig(raw, 'f'));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

const b64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 10,
  maxLength: 80,
});

describe('redaction properties', () => {
  it('no JWT-shaped token survives, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.string(), b64url, b64url, b64url, fc.string(), (before, h, p, s, after) => {
        const jwt = `eyJ${h}.${p}.${s}`;
        const out = redact(`${before} ${jwt} ${after}`);
        expect(out).not.toContain(`${p}.${s}`);
        expect(out).toContain(REDACTED);
      }),
      { numRuns: 500 },
    );
  });

  it('bearer values and refresh_token parameters never survive', () => {
    fc.assert(
      fc.property(b64url, fc.constantFrom('Bearer', 'bearer', 'BEARER'), (secret, scheme) => {
        expect(redact(`Authorization: ${scheme} ${secret}`)).not.toContain(secret);
        expect(redact(`grant_type=refresh_token&refresh_token=${secret}&x=1`)).not.toContain(secret);
        expect(redact(JSON.stringify({ refresh_token: secret }))).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });

  it('sanitizeOAuthError keeps at most error and error_description, and never a token', () => {
    fc.assert(
      fc.property(fc.jsonValue(), b64url, (extra, secret) => {
        const jwt = `eyJ${secret}.${secret}.${secret}`;
        const body = {
          error: 'invalid_grant',
          error_description: `bad ${jwt}`,
          extra,
          refresh_token: secret,
        };
        const out = sanitizeOAuthError(body);
        expect(Object.keys(out).sort()).toEqual(['error', 'error_description']);
        expect(JSON.stringify(out)).not.toContain(jwt);
        const text = sanitizeOAuthError(JSON.stringify(extra));
        expect(typeof text.error).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
