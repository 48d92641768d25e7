/**
 * Damaged files on disk, through the built CLI: the config file (garbage, wrong types, bad values),
 * the tool-backups file, the proxy state file and a command provider's token cache. Each gives a
 * clear error naming the file (exit 1) or is safely ignored / re-created — never a crash or a stack
 * trace, and a file gatepass cannot understand is left as it was.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

let t: TempHome;
beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', GATEPASS_INTERACTIVE: '0', PATH: '/usr/bin:/bin' });
});
afterEach(() => t.cleanup());

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runGatepass(args, { env: { ...t.env, ...env }, timeoutMs: 20_000 });
const file = (rel: string) => path.join(t.home, rel);
const write = (rel: string, text: string | Buffer) => {
  mkdirSync(path.dirname(file(rel)), { recursive: true });
  writeFileSync(file(rel), text);
};

function expectCleanFailure(r: { code: number | null; stdout: string; stderr: string }, names: string) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^gatepass: error: /);
  expect(r.stderr).toContain(names);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at |TypeError|SyntaxError/);
}

const OIDC = `providers:
  default:
    type: oidc
    gateway_url: https://gw.example.test
    oidc:
      issuer: https://sso.example.test
      client_id: gp
`;

describe('corrupted config file', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['YAML syntax error', 'providers:\n  default: [unclosed\n'],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b, 0x5b, 0x0a])],
    ['a list instead of a mapping', '- a\n- b\n'],
    ['providers of the wrong type', 'providers: 7\n'],
    ['a provider field of the wrong type', OIDC.replace('client_id: gp', 'client_id: [1, 2]')],
    ['default_provider of the wrong type', `default_provider: [a, b]\n${OIDC}`],
    ['a version from the future', `version: 99\n${OIDC}`],
    ['configured_tools garbage', `${OIDC}configured_tools:\n  - 5\n`],
    ['a token_ref of the wrong type', `${OIDC}    token_ref: 5\n`],
    ['duplicate keys', `${OIDC}providers: {}\n`],
  ];
  it.each(cases)(
    '%s: exit 1 naming the file, for every command that reads it; file untouched',
    async (_n, text) => {
      write('.config/gatepass/config.yaml', text);
      const before = readFileSync(t.configFile);
      for (const args of [['token'], ['teardown', '--keep-tokens']]) {
        expectCleanFailure(await gp(args), t.configFile);
      }
      expect(readFileSync(t.configFile).equals(before)).toBe(true);
    },
  );

  it('a value out of range in the file: exit 1 naming the file and the field, not a usage error', async () => {
    write(
      '.config/gatepass/config.yaml',
      OIDC.replace('client_id: gp', 'client_id: gp\n      callback_port: 99999999'),
    );
    const before = readFileSync(t.configFile);
    for (const args of [['token'], ['login'], ['logout'], ['exec', '--', 'true'], ['proxy', 'start']]) {
      const r = await gp(args);
      expectCleanFailure(r, `config file ${t.configFile}: invalid oidc.callback_port`);
      expect(r.stderr).toContain('hint: fix the value with `gatepass config set`');
    }
    // The file can still be repaired with the CLI.
    const fix = await gp(['config', 'set', '--callback-port', '8666']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(readFileSync(t.configFile).equals(before)).toBe(false);
  });
});

describe('corrupted tool-backups file', () => {
  const backups = '.local/share/gatepass/tool-backups.json';
  const setupArgs = [
    'setup',
    '--gateway-url',
    'https://llm.example.com',
    '--issuer',
    'https://sso.example.com',
    '--client-id',
    'gp',
    '--tools',
    'gemini',
    '--lazy',
  ];

  it.each([
    ['garbage', '{garbage'],
    ['a list', '["GEMINI_API_KEY=user-secret-key"]'],
    ['non-string values', '{"a": 5}'],
  ])(
    '%s: teardown and setup refuse, naming it; the user files and the backups stay as they are',
    async (_n, garbage) => {
      write('.gemini/.env', 'GEMINI_API_KEY=user-secret-key\nOTHER=1\n');
      const s = await gp(setupArgs);
      expect(s.code, s.stderr).toBe(0);
      expect(readFileSync(file(backups), 'utf8')).toContain('user-secret-key');
      write(backups, garbage);
      const env = readFileSync(file('.gemini/.env'));
      const config = readFileSync(t.configFile);
      for (const args of [['teardown', '--keep-tokens'], setupArgs]) {
        const r = await gp(args);
        expectCleanFailure(r, `${file(backups)} is malformed`);
        expect(r.stderr).not.toContain('user-secret-key');
      }
      expect(readFileSync(file(backups), 'utf8')).toBe(garbage);
      expect(readFileSync(file('.gemini/.env')).equals(env)).toBe(true);
      expect(readFileSync(t.configFile).equals(config)).toBe(true);
    },
  );
});

describe('corrupted proxy state file', () => {
  it.each([
    ['garbage', '{garbage'],
    ['wrong types', '{"pid": "x", "port": 1}'],
    ['null', 'null'],
    ['pid -1 (would mean every process)', '{"pid": -1, "port": 14000}'],
    ['pid 0 (the process group)', '{"pid": 0, "port": 14000}'],
    ['port out of range', `{"pid": ${process.pid}, "port": 99999}`],
  ])('%s: status and proxy status/stop report no proxy and signal nothing', async (_n, garbage) => {
    write('.local/share/gatepass/proxy.json', garbage);
    for (const args of [['status'], ['proxy', 'stop']]) {
      const r = await gp(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    const st = await gp(['proxy', 'status', '--json']);
    expect(JSON.parse(st.stdout)).toMatchObject({ running: false });
  });
});

describe("corrupted command provider's token cache", () => {
  it('is ignored with a warning naming it, the command runs and the cache is rewritten', async () => {
    const set = await gp([
      'config',
      'set',
      '--gateway-url',
      'https://gw.example.test',
      '--token-command',
      'echo fresh-token-1',
    ]);
    expect(set.code, set.stderr).toBe(0);
    const cache = file('.cache/gatepass/tokens/default.json');
    for (const garbage of ['{ not json', 'null', '[1,2]', '{"token": 5}', '\u0000\u00ff']) {
      write('.cache/gatepass/tokens/default.json', garbage);
      const r = await gp(['token']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('fresh-token-1\n');
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(existsSync(cache)).toBe(true);
      expect(JSON.parse(readFileSync(cache, 'utf8')).token).toBe('fresh-token-1');
    }
  });
});
