import { describe, expect, it } from 'vitest';
import { applyAssignments, parseAssignments, unsetFields } from '../../src/config/edit.js';
import {
  effectiveScopes,
  emptyConfig,
  type GatepassConfig,
  type OidcProvider,
} from '../../src/config/schema.js';
import {
  checkFieldValue,
  FIELDS,
  findField,
  isLoopbackHost,
  normalizeConfig,
  parseFieldInput,
  requireUsableProvider,
  validateConfig,
} from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';

const field = (key: string) => findField(key)!;

function expectInvalid(fn: () => unknown, fieldName: string, pattern?: RegExp): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.field).toBe(fieldName);
    expect(e.message).toContain(fieldName);
    if (pattern) expect(e.message).toMatch(pattern);
    return e;
  }
  throw new Error('expected a ConfigError');
}

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '[::1]'])(
    'accepts %s',
    (h) => expect(isLoopbackHost(h)).toBe(true),
  );
  it.each([
    'example.com',
    '0.0.0.0',
    '128.0.0.1',
    '127.0.0.256',
    '10.0.0.1',
    'localhost.example.com',
    // A fully qualified name is resolved by DNS, not /etc/hosts: not loopback (issue 14.9).
    'localhost.',
    'LOCALHOST.',
    '127.0.0.1.nip.io',
    '::',
    '::2',
  ])('rejects %s', (h) => expect(isLoopbackHost(h)).toBe(false));
});

describe('URL fields (gateway_url, oidc.issuer)', () => {
  const url = field('gateway_url');
  const issuer = field('oidc.issuer');
  it('accepts https anywhere and http on loopback', () => {
    for (const v of [
      'https://llm.example.com',
      'https://llm.example.com:8443/v1',
      'http://127.0.0.1:8080',
      'http://localhost:3000/x',
      'http://[::1]:9/',
    ]) {
      expect(checkFieldValue(url, v)).toBeUndefined();
    }
  });
  it('refuses plain http on a non-loopback host, naming the rule', () => {
    expect(checkFieldValue(url, 'http://example.com')).toMatch(/must use https/);
    expect(checkFieldValue(url, 'http://0.0.0.0:8080')).toMatch(/must use https/);
    expect(checkFieldValue(url, 'http://10.1.2.3')).toMatch(/must use https/);
    // `localhost.` is resolved by DNS: plain http to it is not local.
    expect(checkFieldValue(url, 'http://localhost.:8080')).toMatch(/must use https/);
    expect(checkFieldValue(url, 'http://LOCALHOST./v1')).toMatch(/must use https/);
  });
  it('refuses unparsable URLs and other schemes', () => {
    expect(checkFieldValue(url, 'llm.example.com')).toMatch(/not a valid absolute URL/);
    expect(checkFieldValue(url, 'https://')).toMatch(/not a valid absolute URL/);
    expect(checkFieldValue(url, 'ftp://example.com')).toMatch(/scheme "ftp"/);
    expect(checkFieldValue(url, 'javascript:alert(1)')).toMatch(/scheme/);
    expect(checkFieldValue(url, '')).toMatch(/non-empty/);
  });
  it('refuses credentials and fragments', () => {
    expect(checkFieldValue(url, 'https://user:pw@llm.example.com')).toMatch(/credentials/);
    expect(checkFieldValue(url, 'https://llm.example.com/#x')).toMatch(/fragment/);
  });
  it('refuses an issuer with a query (OIDC forbids it) but allows a gateway query', () => {
    expect(checkFieldValue(issuer, 'https://sso.example.com/?tenant=1')).toMatch(/query/);
    expect(checkFieldValue(url, 'https://llm.example.com/?tenant=1')).toBeUndefined();
  });
  it('parseFieldInput trims whitespace and a trailing slash from gateway_url only', () => {
    expect(parseFieldInput(url, ' https://llm.example.com/ ')).toBe('https://llm.example.com');
    expect(parseFieldInput(issuer, 'https://sso.example.com/realms/x/')).toBe(
      'https://sso.example.com/realms/x/',
    );
  });
});

describe('ports', () => {
  const port = field('proxy.listen_port');
  it.each([
    ['1', 1],
    ['443', 443],
    ['65535', 65535],
    [' 8666 ', 8666],
  ])('accepts %s', (raw, n) => {
    expect(parseFieldInput(port, raw)).toBe(n);
  });
  it.each(['0', '65536', '-1', '1.5', 'abc', '', '8080x', '1e3'])('refuses %j', (raw) => {
    expectInvalid(() => parseFieldInput(port, raw), 'proxy.listen_port');
  });
  it('checkFieldValue rejects non-integers from YAML too', () => {
    expect(checkFieldValue(port, 80.5)).toMatch(/whole number/);
    expect(checkFieldValue(port, '80')).toMatch(/whole number/);
  });
});

describe('text fields', () => {
  it('client_id: non-empty, no whitespace or control characters, bounded', () => {
    const f = field('oidc.client_id');
    expect(checkFieldValue(f, 'gatepass-cli')).toBeUndefined();
    expect(checkFieldValue(f, '')).toMatch(/empty/);
    expect(checkFieldValue(f, 'two words')).toMatch(/spaces/);
    expect(checkFieldValue(f, 'a\u0000b')).toMatch(/control/);
    expect(checkFieldValue(f, 'x'.repeat(257))).toMatch(/256/);
  });
  it('audience: non-empty, no control characters', () => {
    const f = field('oidc.audience');
    expect(checkFieldValue(f, 'api://llm-gateway')).toBeUndefined();
    expect(checkFieldValue(f, '   ')).toMatch(/empty/);
    expect(checkFieldValue(f, 'a\nb')).toMatch(/control/);
  });
  it('scopes: RFC 6749 scope tokens, comma or space separated', () => {
    const f = field('oidc.scopes');
    expect(parseFieldInput(f, 'openid, email profile')).toEqual(['openid', 'email', 'profile']);
    expect(checkFieldValue(f, ['openid', 'api://x/.default'])).toBeUndefined();
    expect(checkFieldValue(f, [])).toMatch(/at least one/);
    expect(checkFieldValue(f, ['a"b'])).toMatch(/not a valid scope/);
    expect(checkFieldValue(f, ['a\\b'])).toMatch(/not a valid scope/);
    expectInvalid(() => parseFieldInput(f, ' , '), 'oidc.scopes');
  });
  it('env_var names', () => {
    const f = field('auth.env_var');
    expect(checkFieldValue(f, 'CORP_LLM_TOKEN')).toBeUndefined();
    expect(checkFieldValue(f, '1ABC')).toMatch(/not a valid environment variable/);
    expect(checkFieldValue(f, 'A-B')).toMatch(/not a valid environment variable/);
  });
  it('commands are single non-empty lines', () => {
    const f = field('auth.token_command');
    expect(checkFieldValue(f, 'gcloud auth print-access-token')).toBeUndefined();
    expect(checkFieldValue(f, ' ')).toMatch(/non-empty/);
    expect(checkFieldValue(f, 'a\nb')).toMatch(/single line/);
  });
  it('paths must be absolute or ~/', () => {
    const f = field('auth.token_cache');
    expect(checkFieldValue(f, '/tmp/x.json')).toBeUndefined();
    expect(checkFieldValue(f, '~/.cache/t.json')).toBeUndefined();
    expect(checkFieldValue(f, 'C:\\Users\\a\\t.json')).toBeUndefined();
    expect(checkFieldValue(f, 'relative/t.json')).toMatch(/absolute/);
  });
  it('seconds are bounded whole numbers', () => {
    const f = field('auth.token_ttl');
    expect(parseFieldInput(f, '3600')).toBe(3600);
    expectInvalid(() => parseFieldInput(f, '0'), 'auth.token_ttl');
    expectInvalid(() => parseFieldInput(f, '9999999'), 'auth.token_ttl');
  });
  it('provider type and names', () => {
    expect(checkFieldValue(field('type'), 'command')).toBeUndefined();
    expect(checkFieldValue(field('type'), 'saml')).toMatch(/oidc.*command/);
    expect(checkFieldValue(field('default_provider'), 'corp-llm.v2')).toBeUndefined();
    expect(checkFieldValue(field('default_provider'), '../etc')).toMatch(/not a valid provider name/);
  });
  it('chat_completions_path', () => {
    expect(checkFieldValue(field('chat_completions_path'), '/v1/chat/completions')).toBeUndefined();
    expect(checkFieldValue(field('chat_completions_path'), 'v1/chat')).toMatch(/starting with \//);
  });
  it('every field has a flag, a description and a rule', () => {
    const flags = new Set<string>();
    for (const f of FIELDS) {
      expect(f.flag).toMatch(/^--[a-z-]+$/);
      expect(flags.has(f.flag)).toBe(false);
      flags.add(f.flag);
      expect(f.description.length).toBeGreaterThan(10);
    }
  });
});

function configured(): GatepassConfig {
  const cfg = emptyConfig();
  applyAssignments(
    cfg,
    'default',
    parseAssignments([
      ['gateway_url', 'https://llm.example.com'],
      ['oidc.issuer', 'https://sso.example.com'],
      ['oidc.client_id', 'gatepass'],
    ]),
  );
  return cfg;
}

describe('partial vs full validation', () => {
  it('partial: a lone valid field is fine while others are missing', () => {
    const cfg = emptyConfig();
    applyAssignments(cfg, 'default', parseAssignments([['oidc.callback_port', '14000']]));
    expect(() => validateConfig(cfg)).not.toThrow(); // not yet configured: no cross-field checks
  });
  it('full: once gateway_url + issuer + client_id are present, cross-field rules apply', () => {
    const cfg = configured();
    validateConfig(cfg);
    (cfg.providers['default'] as OidcProvider).oidc.callback_port = 14000;
    expectInvalid(() => validateConfig(cfg), 'oidc.callback_port', /differ from proxy.listen_port/);
    expect(() => validateConfig(cfg, { full: false })).not.toThrow();
  });
  it('a bad value already in the file is caught by validateConfig, naming the field', () => {
    const cfg = configured();
    cfg.providers['default']!.gateway_url = 'http://example.com';
    expectInvalid(() => validateConfig(cfg, { full: false }), 'gateway_url', /https/);
  });
  it('requireUsableProvider also refuses a bad global value from the file (no port 0 for the proxy)', () => {
    const cfg = configured();
    cfg.proxy.listen_port = 0;
    expectInvalid(
      () => requireUsableProvider('default', cfg.providers['default'], cfg),
      'proxy.listen_port',
      /1 to 65535, got 0/,
    );
  });
  it('requireUsableProvider lists what is missing and how to set it', () => {
    const cfg = emptyConfig();
    applyAssignments(cfg, 'default', parseAssignments([['gateway_url', 'https://llm.example.com']]));
    try {
      requireUsableProvider('default', cfg.providers['default'], cfg);
      throw new Error('expected failure');
    } catch (err) {
      const e = err as ConfigError;
      expect(e.code).toBe('E_CONFIG_MISSING');
      expect(e.message).toMatch(/missing oidc\.issuer, oidc\.client_id/);
      expect(e.hint).toMatch(/--issuer/);
    }
    expect(() => requireUsableProvider('nope', undefined, cfg)).toThrow(/no provider named "nope"/);
    try {
      requireUsableProvider('nope', undefined, cfg);
    } catch (err) {
      expect((err as ConfigError).hint).toMatch(/gatepass config set --provider nope --gateway-url/);
    }
  });
});

describe('config edits', () => {
  it('creates a command provider when a command field is set on a new name', () => {
    const cfg = emptyConfig();
    applyAssignments(
      cfg,
      'corp',
      parseAssignments([
        ['auth.token_command', 'corp-auth token'],
        ['base_url', 'https://x.example'],
      ]),
    );
    expect(cfg.providers['corp']).toEqual({
      type: 'command',
      gateway_url: 'https://x.example',
      auth: { token_command: 'corp-auth token' },
    });
  });
  it('refuses oidc fields on a command provider, naming the field', () => {
    const cfg = emptyConfig();
    applyAssignments(cfg, 'corp', parseAssignments([['type', 'command']]));
    expectInvalid(
      () => applyAssignments(cfg, 'corp', parseAssignments([['oidc.issuer', 'https://sso.example.com']])),
      'oidc.issuer',
    );
  });
  it('refuses to change the type of a provider with settings', () => {
    const cfg = configured();
    expectInvalid(() => applyAssignments(cfg, 'default', parseAssignments([['type', 'command']])), 'type');
  });
  it('changing a setting the token key is derived from drops the stale token reference', () => {
    const ref = () => (cfg.providers['default'] as OidcProvider).token_ref;
    const cfg = configured();
    for (const [key, value] of [
      ['gateway_url', 'https://other-gw.example.com'],
      ['oidc.issuer', 'https://other.example.com'],
      ['oidc.client_id', 'other'],
      ['oidc.audience', 'x'],
      ['oidc.scopes', 'openid llm'],
    ] as const) {
      (cfg.providers['default'] as OidcProvider).token_ref = { secret_key: 'LLM_OAUTH_deadbeef' };
      applyAssignments(cfg, 'default', parseAssignments([['models', 'a,b']]));
      expect(ref()).toBeDefined();
      applyAssignments(cfg, 'default', parseAssignments([[key, value]]));
      expect(ref(), key).toBeUndefined();
      // Setting the value it already has (setup re-run with the same flags) keeps the sign-in.
      (cfg.providers['default'] as OidcProvider).token_ref = { secret_key: 'LLM_OAUTH_deadbeef' };
      applyAssignments(cfg, 'default', parseAssignments([[key, value]]));
      expect(ref(), key).toBeDefined();
    }
  });
  it('unset removes keys, whole providers, and refuses unknown keys', () => {
    const cfg = configured();
    unsetFields(cfg, 'default', ['oidc.client_id']);
    expect((cfg.providers['default'] as OidcProvider).oidc.client_id).toBeUndefined();
    expectInvalid(() => unsetFields(cfg, 'default', ['nope']), 'nope', /unknown config key/);
    unsetFields(cfg, 'default', [], true);
    expect(cfg.providers['default']).toBeUndefined();
  });
  it('unsetting the last field of an optional block drops the block; required blocks stay', () => {
    const cfg = configured();
    applyAssignments(
      cfg,
      'default',
      parseAssignments([
        ['otel.endpoint', 'http://127.0.0.1:4318'],
        ['mcp.token_exchange', 'true'],
        ['proxy.listen_port', '18080'],
      ]),
    );
    const p = () => cfg.providers['default'] as OidcProvider & Record<string, unknown>;
    expect(p()['otel']).toBeDefined();
    expect(p()['mcp']).toBeDefined();
    unsetFields(cfg, 'default', ['otel.endpoint', 'mcp.token_exchange', 'proxy.listen_port']);
    expect(p()).not.toHaveProperty('otel');
    expect(p()).not.toHaveProperty('mcp');
    // The top-level proxy block stays (the schema always has it).
    expect(cfg.proxy).toEqual({});
    unsetFields(cfg, 'default', ['oidc.issuer', 'oidc.client_id']);
    expect(p().oidc).toEqual({});
  });
  it('default_provider must name an existing provider (one set in the same command counts)', () => {
    const cfg = configured();
    expectInvalid(
      () => applyAssignments(cfg, 'default', parseAssignments([['default_provider', 'corp']])),
      'default_provider',
      /no provider named "corp" \(configured: default\)/,
    );
    applyAssignments(
      cfg,
      'corp',
      parseAssignments([
        ['type', 'command'],
        ['auth.env_var', 'TOK'],
        ['default_provider', 'corp'],
      ]),
    );
    expect(cfg.default_provider).toBe('corp');
  });
  it('unsetting default_provider, or removing the default provider, goes back to "default"', () => {
    const cfg = configured();
    applyAssignments(
      cfg,
      'corp',
      parseAssignments([
        ['auth.env_var', 'TOK'],
        ['default_provider', 'corp'],
      ]),
    );
    unsetFields(cfg, 'default', ['default_provider']);
    expect(cfg.default_provider).toBe('default');
    validateConfig(cfg);
    applyAssignments(cfg, 'default', parseAssignments([['default_provider', 'corp']]));
    unsetFields(cfg, 'corp', [], true);
    expect(cfg.default_provider).toBe('default');
    validateConfig(cfg);
  });
  it('unknown keys in set are refused', () => {
    expectInvalid(() => parseAssignments([['oidc.isuer', 'x']]), 'oidc.isuer', /unknown config key/);
  });
  it('effective scopes: offline_access by default only when offered; oidc.scopes is used as is (plus openid)', () => {
    const cfg = configured();
    const p = cfg.providers['default'] as OidcProvider;
    expect(effectiveScopes(p)).toEqual(['openid', 'profile', 'email', 'offline_access']);
    // Discovery lists scopes_supported without offline_access (Google): not requested.
    expect(effectiveScopes(p, ['openid', 'email', 'profile'])).toEqual(['openid', 'profile', 'email']);
    expect(effectiveScopes(p, ['openid', 'offline_access'])).toEqual([
      'openid',
      'profile',
      'email',
      'offline_access',
    ]);
    p.oidc.scopes = ['email'];
    expect(effectiveScopes(p)).toEqual(['openid', 'email']);
    p.oidc.scopes = ['openid', 'api://gw/.default', 'offline_access'];
    expect(effectiveScopes(p, ['openid'])).toEqual(['openid', 'api://gw/.default', 'offline_access']);
  });
  it('IdP profile keys: auth_params, client_secret reference, redirect_host, callback_port 0, token', () => {
    const cfg = configured();
    const set = (pairs: Array<[string, string]>) => applyAssignments(cfg, 'default', parseAssignments(pairs));
    set([
      ['oidc.auth_params', 'access_type=offline&prompt=consent,domain_hint=corp.example%2Ecom'],
      ['oidc.redirect_host', 'localhost'],
      ['oidc.callback_port', '0'],
      ['oidc.token', 'id_token'],
    ]);
    validateConfig(cfg);
    const o = (cfg.providers['default'] as OidcProvider).oidc;
    expect(o.auth_params).toEqual({
      access_type: 'offline',
      prompt: 'consent',
      domain_hint: 'corp.example.com',
    });
    expect(o).toMatchObject({ redirect_host: 'localhost', callback_port: 0, token: 'id_token' });
    expectInvalid(() => set([['oidc.auth_params', 'state=x']]), 'oidc.auth_params', /set by gatepass itself/);
    expectInvalid(() => set([['oidc.auth_params', 'scope=x']]), 'oidc.auth_params', /use oidc\.scopes/);
    expectInvalid(() => set([['oidc.auth_params', 'novalue']]), 'oidc.auth_params', /not a name=value pair/);
    expectInvalid(
      () => set([['oidc.redirect_host', '[::1]']]),
      'oidc.redirect_host',
      /127\.0\.0\.1" or "localhost/,
    );
    expectInvalid(() => set([['oidc.token', 'refresh_token']]), 'oidc.token', /access_token" or "id_token/);
    expectInvalid(() => set([['oidc.callback_port', '70000']]), 'oidc.callback_port', /65535/);
    // The config holds a secret-store key, never a secret: a value put there by hand is refused.
    expectInvalid(
      () => set([['oidc.client_secret', 'GOCSPX-abc']]),
      'oidc.client_secret',
      /--client-secret-stdin/,
    );
    set([['oidc.client_secret', 'LLM_OIDC_CS_0123abcd']]);
    set([
      ['network.proxy', 'http://u:p@proxy:3128'],
      ['network.no_proxy', '.corp,10.0.0.0/8'],
    ]);
    validateConfig(cfg);
    expectInvalid(() => set([['network.proxy', 'ftp://p']]), 'network.proxy', /not supported/);
  });
});

describe('normalizeConfig (structure of the file)', () => {
  it('accepts an empty document', () => {
    expect(normalizeConfig(null, 'f')).toEqual(emptyConfig());
  });
  it('maps base_url to gateway_url and infers command type from auth', () => {
    const cfg = normalizeConfig(
      { providers: { corp: { base_url: 'https://x.example', auth: { env_var: 'T' } } } },
      'f',
    );
    expect(cfg.providers['corp']).toEqual({
      type: 'command',
      gateway_url: 'https://x.example',
      auth: { env_var: 'T' },
    });
  });
  it.each([
    [[1, 2], /document is not a mapping/],
    [{ providers: [] }, /providers is not a mapping/],
    [{ providers: { a: 'x' } }, /providers\.a is not a mapping/],
    [{ providers: { a: { type: 'saml' } } }, /providers\.a\.type/],
    [
      { providers: { a: { oidc: { callback_port: '80' } } } },
      /providers\.a\.oidc\.callback_port is not a number/,
    ],
    [{ providers: { a: { gateway_url: 5 } } }, /gateway_url is not a string/],
    [{ proxy: { listen_port: 'x' } }, /proxy\.listen_port is not a number/],
    [{ configured_tools: {} }, /configured_tools is not a list/],
    [{ version: 2 }, /newer than this gatepass/],
    [{ providers: { a: { token_ref: { secret_key: 1 } } } }, /token_ref/],
  ])('refuses %j', (raw, re) => {
    try {
      normalizeConfig(raw, '/x/config.yaml');
      throw new Error('expected failure');
    } catch (err) {
      expect((err as ConfigError).code).toBe('E_CONFIG_MALFORMED');
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain('/x/config.yaml');
    }
  });
});
