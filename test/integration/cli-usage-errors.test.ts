/**
 * Usage errors and messages through the built CLI: an unknown provider name and a bad GATEPASS_*
 * value exit 2 for every command; `config unset` points to the command that lists keys; a failing
 * token_command's stderr is printed once; an unrunnable GATEPASS_BROWSER says why; `token --help`
 * describes GATEPASS_INTERACTIVE as the code decides; every GATEPASS_* name in src/ is in the one
 * table of the README and of docs/cli/environment.md.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, ROOT, runGatepass, type TempHome } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';

let t: TempHome;
const gp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runGatepass(args, { env: { ...t.env, ...env }, timeoutMs: 30_000 });

beforeEach(async () => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file' });
  const r = await gp([
    'config',
    'set',
    '--gateway-url',
    'https://llm.corp.test',
    '--issuer',
    'https://sso.corp.test',
    '--client-id',
    'gp',
  ]);
  expect(r.code, r.stderr).toBe(0);
});
afterEach(() => t.cleanup());

const COMMANDS: string[][] = [
  ['token'],
  ['login'],
  ['logout'],
  ['exec', '--', 'true'],
  ['env'],
  ['status'],
  ['setup', '--lazy'],
  ['teardown'],
  ['proxy', 'start'],
  ['proxy', 'status'],
  ['proxy', 'stop'],
  ['config', 'show'],
  ['config', 'unset', 'models'],
];

describe('usage errors exit 2 for every command', () => {
  it('an unknown provider name', async () => {
    for (const args of COMMANDS) {
      const r = await gp(['--provider', 'nope', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/there is no provider named "nope" \(known: default\)/);
    }
  });

  it('a bad GATEPASS_* value, naming the variable', async () => {
    const bad: Array<[string, string]> = [
      ['GATEPASS_INTERACTIVE', 'ture'],
      ['GATEPASS_VERBOSE', 'loud'],
      ['GATEPASS_SECRET_STORE', 'keyring'],
      ['GATEPASS_PROXY_ENGINE', 'fast'],
      ['GATEPASS_TOKEN_FAST_PATH', 'nah'],
      ['GATEPASS_LOGIN_TIMEOUT', '5min'],
      ['GATEPASS_HTTP_TIMEOUT', '0'],
      ['GATEPASS_ALLOW_PLACEHOLDER_HOSTS', 'sure'],
    ];
    // Every command with one of the values (in turn), and every value with `status`.
    const runs: Array<[string[], [string, string]]> = [
      ...COMMANDS.map((args, i): [string[], [string, string]] => [args, bad[i % bad.length]!]),
      ...bad.map((b): [string[], [string, string]] => [['status'], b]),
    ];
    for (const [args, [name, value]] of runs) {
      const r = await gp(args, { [name]: value });
      expect(r.code, `${name}=${value} ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(name);
    }
  }, 120_000);
});

describe('messages', () => {
  it('config unset of an unknown key points to the command that lists the keys', async () => {
    const r = await gp(['config', 'unset', 'oidc.audiance']);
    expect(r.code).toBe(2);
    const hint = /run `(gatepass [^`]+)` for the list of keys/.exec(r.stderr)?.[1];
    expect(hint).toBe('gatepass config --help');
    const help = await gp(['config', '--help']);
    expect(help.stdout).toMatch(/^ {2}oidc\.audience\s/m);
  });

  it("a failing token_command's stderr is printed once", async () => {
    const cmd = path.join(t.home, 'fail.sh');
    writeFileSync(cmd, '#!/bin/sh\necho "corp-auth: session expired, run corp-auth login" >&2\nexit 3\n');
    chmodSync(cmd, 0o755);
    const set = await gp([
      'config',
      'set',
      '--provider',
      'corp',
      '--type',
      'command',
      '--gateway-url',
      'https://llm.corp.test',
      '--token-command',
      cmd,
    ]);
    expect(set.code, set.stderr).toBe(0);
    const r = await gp(['--provider', 'corp', 'token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exited with code 3/);
    expect(r.stderr.split('corp-auth: session expired').length - 1).toBe(1);
  });

  it('token --help describes GATEPASS_INTERACTIVE as the code decides (0 wins over --skip-browser)', async () => {
    const help = await gp(['token', '--help']);
    expect(help.stdout).toMatch(
      /GATEPASS_INTERACTIVE set: 1 \(true, yes\) interactive, 0 \(false, no\) never/,
    );
    expect(help.stdout).toMatch(/over every rule below/);
    expect(help.stdout).not.toMatch(/turns the second rule off/);
    // never logged in, a browser "available", --skip-browser: still non-interactive with 0
    const r = await gp(['token', '--skip-browser'], { GATEPASS_INTERACTIVE: '0', GATEPASS_BROWSER: 'true' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/authentication required/);
    expect(r.stderr).not.toMatch(/open this URL/i);
  });
});

describe('an unrunnable GATEPASS_BROWSER says why', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(async () => idp.close());

  it.each([
    ['missing', 'ENOENT'],
    ['not executable', 'EACCES'],
  ])('%s: %s, naming the variable, and the URL is printed', async (kind, code) => {
    const port = await freePort();
    const set = await gp([
      'config',
      'set',
      '--issuer',
      idp.issuer,
      '--client-id',
      idp.clientId,
      '--callback-port',
      String(port),
    ]);
    expect(set.code, set.stderr).toBe(0);
    const browser = path.join(t.home, 'my-browser');
    if (kind === 'not executable') writeFileSync(browser, '#!/bin/sh\n');
    const r = await gp(['login', '--timeout', '2'], { GATEPASS_BROWSER: browser });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `Could not open a browser (GATEPASS_BROWSER command "${browser}" cannot be run: ${code}`,
    );
    expect(r.stderr).toMatch(/Open this URL to log in:\n\n {2}http:\/\/127\.0\.0\.1:\d+\//);
  });
});

describe('every GATEPASS_* variable is documented in one table', () => {
  it('README and docs/cli/environment.md name each GATEPASS_* the code uses', () => {
    // Names in src/ that are not environment variables: keychain entries and build constants.
    const notVariables = new Set([
      'GATEPASS_PROBE',
      'GATEPASS_DOCTOR_PROBE',
      'GATEPASS_VERSION__',
      'GATEPASS_SEA__',
    ]);
    const names = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (f.endsWith('.ts'))
          for (const m of readFileSync(f, 'utf8').matchAll(/GATEPASS_[A-Z_]+/g)) names.add(m[0]);
      }
    };
    walk(path.join(ROOT, 'src'));
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split(/^## Environment variables$/m)[1]!.split(/^## /m)[0]!;
    const readmeTable = section
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    const docsTable = readFileSync(path.join(ROOT, 'docs/cli/environment.md'), 'utf8');
    expect(readmeTable.length).toBeGreaterThan(0);
    expect(docsTable).toContain(readmeTable); // one table, the same in both
    for (const name of names) {
      if (notVariables.has(name)) continue;
      expect(readmeTable, name).toContain(name);
    }
  });
});
