/**
 * Property-based bad-input suite (fast-check) for the inputs not covered by the other fuzz files:
 * callback query strings, JWTs with random or garbage segments, damaged tool config files and
 * gatepass' own config file, and command-provider token caches. For each: no crash, a clear error of
 * the documented class, and a secret planted in the input never appears in any message or hint.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readCache } from '../../src/auth/command/cache.js';
import { jwtExpiry as commandJwtExpiry } from '../../src/auth/command/parse.js';
import { judgeCallback, requestUrl, resultPage } from '../../src/auth/oidc/callback.js';
import { jwtExpiry as oidcJwtExpiry, parseCachedToken } from '../../src/auth/oidc/keys.js';
import { loadConfig } from '../../src/config/store.js';
import { ConfigError, type GatepassError, ToolConfigError } from '../../src/errors.js';
import { planFile, readBackups } from '../../src/tools/edit/file.js';
import type { FileFormat } from '../../src/tools/edit/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A secret of no well-known shape: only not quoting the input keeps it out of messages. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{24,32}$/).map((s) => `plant${s}`);

function expectNoSecret(err: unknown, planted: string): void {
  const e = err as GatepassError;
  expect(e.message).not.toContain(planted);
  expect(e.hint ?? '').not.toContain(planted);
}

// -------------------------------------------------------------------------------------------------
describe('callback query strings (judgeCallback)', () => {
  const REFUSALS = [
    'This login response does not belong to the login in progress.',
    'The login response has no authorization code.',
  ];
  const param = fc.oneof(
    fc.constantFrom('state', 'code', 'error', 'error_description', 'iss', 'STATE', 'state[]', 'code '),
    fc.string({ maxLength: 6 }),
  );
  const value = fc.oneof(fc.constant('S1'), fc.constant(''), fc.string({ maxLength: 12 }), secret);
  const query = fc
    .array(fc.tuple(param, value), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  const rawQuery = fc.string({ maxLength: 60 }); // unencoded garbage, %-sequences, &&==, …

  it('never throws; ok only for exactly one matching state and one non-empty code, no error', () => {
    fc.assert(
      fc.property(fc.oneof(query, rawQuery), fc.constantFrom('GET', 'POST', 'HEAD'), (q, method) => {
        const url = new URL(`http://127.0.0.1:8666/callback?${q}`);
        const v = judgeCallback(method, url, 'S1');
        const p = url.searchParams;
        const stateOk = p.getAll('state').length === 1 && p.get('state') === 'S1';
        if (method !== 'GET') expect(v.kind).toBe('ignore');
        else if (!stateOk) expect(v.kind).toBe('reject');
        if (v.kind === 'ok') {
          expect(stateOk).toBe(true);
          expect(p.get('error')).toBeFalsy();
          expect(p.getAll('code')).toHaveLength(1);
          expect(p.get('code')).not.toBe('');
        }
        // A refusal is a fixed sentence: nothing from the request is echoed back.
        if (v.kind === 'reject') expect(REFUSALS).toContain(v.message);
        // What the IdP (or a forger with the right state) sent is shown only escaped.
        if (v.kind === 'error') {
          const page = resultPage('Login failed', `${v.error}: ${v.description ?? ''}`);
          expect(page.slice(page.indexOf('<h1>'))).not.toMatch(/<(?!\/?(h1|p|body|html)>)/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('any request target: never throws, and a URL it returns stays on the callback origin', () => {
    const origin = 'http://127.0.0.1:8666';
    const target = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40 }).map((t) => `/${t}`),
      fc.string({ maxLength: 40 }).map((t) => `http://${t}`),
      fc.webUrl(),
    );
    fc.assert(
      fc.property(target, (t) => {
        const url = requestUrl(origin, t);
        if (url) {
          expect(t.startsWith('/')).toBe(true);
          expect(url.origin).toBe(origin);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
describe('JWT expiry parsing with random segments', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const payload = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), fc.constant(1e308))
      .map((exp) => JSON.stringify({ exp })),
    fc.string({ maxLength: 40 }),
  );
  const segment = fc.oneof(
    payload.map(b64),
    fc.string({ maxLength: 30 }),
    fc.constant(''),
    fc.constant('eyJhbGciOiJSUzI1NiJ9'),
  );
  const token = fc.oneof(
    fc.tuple(segment, segment, segment).map((p) => p.join('.')),
    fc.tuple(fc.constant('eyJhbGciOiJSUzI1NiJ9'), payload.map(b64), segment).map((p) => p.join('.')),
    fc.array(segment, { maxLength: 6 }).map((p) => p.join('.')),
    fc.string({ maxLength: 80 }),
  );

  it('both parsers return undefined or a finite, non-negative epoch-ms value, never throw', () => {
    fc.assert(
      fc.property(token, (t) => {
        for (const parse of [commandJwtExpiry, oidcJwtExpiry]) {
          const exp = parse(t);
          if (exp !== undefined) {
            expect(Number.isFinite(exp)).toBe(true);
            expect(exp).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a garbage cached access-token entry counts as absent, never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = parseCachedToken(text);
          if (r) {
            expect(typeof r.token).toBe('string');
            expect(r.token.length).toBeGreaterThan(0);
            if (r.expiresAt !== undefined) expect(Number.isFinite(r.expiresAt)).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
describe('tool config files: random garbage into the editors', { timeout: 30_000 }, () => {
  const formats: Array<[FileFormat, string]> = [
    ['json', 'settings.json'],
    ['toml', 'config.toml'],
    ['dotenv', '.env'],
  ];
  /** Garbage that looks like each format, with a user's secret somewhere in it. */
  const garbage = (format: FileFormat) =>
    fc
      .tuple(
        secret,
        fc.array(
          fc.oneof(
            fc.constantFrom(
              '{',
              '}',
              '[',
              ']',
              '"',
              "'",
              '=',
              ',',
              ':',
              '\n',
              '\r\n',
              '#',
              '//',
              '/*',
              '[[',
              ']]',
              '\\',
              '\u0000',
              '\uFEFF',
              'key',
              'apiKey',
              'model_providers',
              'GEMINI_API_KEY',
              'export ',
            ),
            fc.string({ maxLength: 6 }),
          ),
          { maxLength: 25 },
        ),
      )
      .map(([s, parts]) => {
        const at = parts.length ? s.length % parts.length : 0;
        const planted =
          format === 'json'
            ? `"apiKey": "${s}"`
            : format === 'toml'
              ? `api_key = "${s}`
              : `GEMINI_API_KEY=${s}`;
        parts.splice(at, 0, planted);
        return { planted: s, text: parts.join('') };
      });

  for (const [format, name] of formats) {
    it(`${format}: a plan or a ToolConfigError naming the file, never the secret; the file is untouched`, async () => {
      const file = path.join(dir, name);
      await fc.assert(
        fc.asyncProperty(garbage(format), async ({ planted, text }) => {
          writeFileSync(file, text);
          try {
            const p = await planFile({
              file,
              format,
              settings: [
                {
                  path: format === 'dotenv' ? ['GEMINI_API_KEY'] : ['apiKey'],
                  value: 'gp_local_x',
                  secret: true,
                },
              ],
            });
            // Accepted: the previous secret value went to the private backups, not into the record.
            expect(JSON.stringify(p.record)).not.toContain(planted);
          } catch (err) {
            expect(err).toBeInstanceOf(ToolConfigError);
            expect((err as ToolConfigError).message).toContain(file);
            expectNoSecret(err, planted);
          }
          expect(readFileSync(file, 'utf8')).toBe(text); // planning never writes
        }),
        { numRuns: 200 },
      );
    });
  }

  it('tool-backups.json garbage: refused with the file named, never quoted', async () => {
    const file = path.join(dir, 'tool-backups.json');
    await fc.assert(
      fc.asyncProperty(secret, fc.string({ maxLength: 20 }), async (s, junk) => {
        const text = `{"a": "GEMINI_API_KEY=${s}"${junk}`;
        writeFileSync(file, text);
        try {
          const b = await readBackups(dir);
          for (const v of Object.values(b)) expect(typeof v).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(ToolConfigError);
          expect((err as ToolConfigError).message).toContain(file);
          expectNoSecret(err, s);
        }
        expect(readFileSync(file, 'utf8')).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
describe("gatepass' own config file: random YAML garbage", { timeout: 30_000 }, () => {
  const yamlBits = fc.constantFrom(
    'providers:',
    '\n  ',
    '\n',
    'default:',
    'type: oidc',
    'oidc:',
    '{',
    '}',
    '[',
    ']',
    '- ',
    ': ',
    '&a ',
    '*a',
    '!!binary ',
    '"',
    "'",
    '#',
    '\t',
    '%YAML 1.2\n---\n',
    'token_ref:',
    'secret_key: ',
  );
  it('a YAML syntax error names the place and the kind, never the source text', async () => {
    // yaml's own message quotes the offending text ("Not a YAML token: client_secret: …"); found
    // by the property below.
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, '> client_secret: "s3cr3t-never-shown');
    const err = await loadConfig(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      `config file ${file} is not valid YAML (line 1, column 3): Not a YAML token (UNEXPECTED_TOKEN)`,
    );
  });
  it('an alias without its anchor is a ConfigError, not a crash', async () => {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'version: 1\nproviders: *missing\n');
    const err = await loadConfig(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      `config file ${file} is not valid YAML: Unresolved alias (the anchor must be set before the alias)`,
    );
  });
  it('loadConfig yields a config or a ConfigError naming the file, never quoting a secret', async () => {
    const file = path.join(dir, 'config.yaml');
    await fc.assert(
      fc.asyncProperty(
        secret,
        fc.array(fc.oneof(yamlBits, fc.string({ maxLength: 5 })), { maxLength: 30 }),
        async (s, parts) => {
          parts.splice(s.length % (parts.length + 1), 0, `client_secret: "${s}`);
          writeFileSync(file, parts.join(''));
          try {
            await loadConfig(file);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
            expect((err as ConfigError).exitCode).toBe(1);
            expect((err as ConfigError).message).toContain(file);
            expectNoSecret(err, s);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
describe('command provider token cache garbage', { timeout: 30_000 }, () => {
  it('readCache says ok or malformed (with a reason that never quotes the file)', async () => {
    const file = path.join(dir, 'cache.json');
    await fc.assert(
      fc.asyncProperty(
        secret,
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.jsonValue().map((v) => JSON.stringify({ token: 'tok', expires_at: v, refresh_token: v })),
        ),
        async (s, junk) => {
          const text = `${junk}${s.length % 2 ? s : ''}`;
          writeFileSync(file, text);
          const r = await readCache(file);
          expect(['ok', 'malformed']).toContain(r.state);
          if (r.state === 'malformed') expect(r.reason).not.toContain(s);
          if (r.state === 'ok') expect(r.entry.token).toMatch(/^[\x21-\x7e]+$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
