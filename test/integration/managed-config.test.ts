/**
 * The fleet-managed configuration layer (src/config/managed.ts) through the built CLI: a root-owned
 * managed file (GATEPASS_MANAGED_CONFIG; the tests run as root) merged under the user's file, locked
 * keys refused by `config set` / `config unset` / setup flags, `config show` / `status` naming the
 * layer of each value, an untrusted managed file ignored with a warning, the token fast path seeing
 * the merged view, and the README's "Deploying to a fleet" example run command by command.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { shellQuote } from '../../src/auth/export.js';
import { fastToken } from '../../src/cli/fast-token.js';
import { readFreshSnapshot } from '../../src/config/snapshot.js';
import { makeTempHome, ROOT, runGatepass, type TempHome } from '../helpers/cli.js';
import { writeHomeFile } from '../helpers/setup-env.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');

let t: TempHome;
let dir: string;
let managed: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  t = makeTempHome();
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-managed-'));
  chmodSync(dir, 0o755);
  managed = path.join(dir, 'config.yaml');
  env = { ...t.env, GATEPASS_MANAGED_CONFIG: managed };
});
afterEach(() => {
  t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const gp = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runGatepass(args, { env: { ...env, ...extra } });

const OIDC_MANAGED = `default_provider: corp
providers:
  corp:
    type: oidc
    gateway_url: https://llm.corp.example.com
    oidc:
      issuer: https://sso.corp.example.com
      client_id: gatepass
locked:
  - gateway_url
  - oidc.issuer
`;

function writeManaged(text: string, mode = 0o644): void {
  writeFileSync(managed, text, { mode });
  chmodSync(managed, mode);
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(process.platform === 'win32' || !isRoot)('fleet-managed configuration', () => {
  it('managed values win, are never copied into the user file, and locked keys are refused (exit 2)', async () => {
    writeManaged(OIDC_MANAGED);
    // A user value for an unlocked key survives next to the managed ones.
    let r = await gp(['config', 'set', '--provider', 'corp', 'oidc.client_id', 'mine']);
    expect(r.code, r.stderr).toBe(0);
    // Not locked, so written to the user's file; but the managed value wins, and the user is told.
    expect(r.stderr).toContain(
      `oidc.client_id is also set by the managed config ${managed}, whose value wins`,
    );
    expect(parseYaml(readFileSync(t.configFile, 'utf8')).providers.corp.oidc.client_id).toBe('mine');
    r = await gp(['config', 'show', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout);
    expect(shown.managed_config).toBe(managed);
    expect(shown.default_provider).toBe('corp');
    expect(shown.providers.corp.gateway_url).toBe('https://llm.corp.example.com');
    expect(shown.sources['providers.corp.gateway_url']).toBe('managed');
    expect(shown.sources['providers.corp.oidc.issuer']).toBe('managed');
    expect(shown.sources['default_provider']).toBe('managed');
    expect(shown.providers.corp.oidc.client_id).toBe('gatepass');
    expect(shown.sources['proxy.listen_port']).toBe('default');
    const user = parseYaml(readFileSync(t.configFile, 'utf8'));
    expect(user.providers?.corp?.gateway_url).toBeUndefined();
    expect(user.providers?.corp?.oidc?.issuer).toBeUndefined();

    for (const args of [
      ['config', 'set', '--provider', 'corp', 'gateway_url', 'https://evil.example.com'],
      ['config', 'set', '--provider', 'corp', '--issuer', 'https://evil.example.com'],
      ['config', 'unset', '--provider', 'corp', 'gateway_url'],
      ['setup', '--lazy', '--gateway-url', 'https://evil.example.com', '--dry-run'],
    ]) {
      const before = readFileSync(t.configFile, 'utf8');
      r = await gp(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/(gateway_url|oidc\.issuer) is locked by your organisation's managed config/);
      expect(r.stderr).toContain(managed);
      expect(readFileSync(t.configFile, 'utf8')).toBe(before);
    }
    // The text view marks the managed values; status names the layer.
    r = await gp(['config', 'show']);
    expect(r.stdout).toContain(`Managed config: ${managed}`);
    expect(r.stdout).toMatch(/gateway_url: https:\/\/llm\.corp\.example\.com # managed/);
    r = await gp(['status', '--json']);
    const status = JSON.parse(r.stdout);
    expect(status.managed_config).toBe(managed);
    expect(status.providers[0].managed_keys).toEqual(['gateway_url', 'oidc.issuer', 'oidc.client_id']);
  });

  it('ignores a managed file others could write or another user owns, with a warning', async () => {
    writeManaged(OIDC_MANAGED, 0o666);
    let r = await gp(['config', 'show', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`ignoring the managed config ${managed}`);
    expect(r.stderr).toContain('writable by everyone');
    expect(JSON.parse(r.stdout).providers).toEqual({});
    chmodSync(managed, 0o644);
    chownSync(managed, 4242, 0);
    r = await gp(['config', 'show', '--json']);
    expect(r.stderr).toContain('owned by uid 4242');
    expect(JSON.parse(r.stdout).managed_config).toBeNull();
  });

  it('`gatepass token` honours a managed change on the fast path and the full path', async () => {
    const managedCommand = (token: string, gateway: string) =>
      writeManaged(
        // Its own token cache per version: the cached token of the old command is not the new one's.
        `providers:\n  default:\n    type: command\n    gateway_url: ${gateway}\n    auth:\n      token_command: ${JSON.stringify(cmd('bare', token))}\n      token_cache: ${path.join(t.home, `${token}.json`)}\nlocked: [gateway_url, auth.token_command]\n`,
      );
    managedCommand('tok-managed-a', 'https://a.corp.example.com');
    // The user's own file exists (a lazy setup writes it); the snapshot records the managed file.
    let r = await gp(['config', 'set', 'proxy.listen_port', '18080']);
    expect(r.code, r.stderr).toBe(0);
    for (const fast of ['1', '0']) {
      r = await gp(['token'], { GATEPASS_TOKEN_FAST_PATH: fast });
      expect(r.stdout, r.stderr).toBe('tok-managed-a\n');
    }
    expect((await fastToken(['token'], env))?.stdout).toBe('tok-managed-a\n');
    expect(readFreshSnapshot(t.configFile, managed)?.config.providers['default']?.gateway_url).toBe(
      'https://a.corp.example.com',
    );

    managedCommand('tok-managed-b', 'https://b.corp.example.com');
    // The snapshot no longer matches the managed file: the fast path hands over.
    expect(readFreshSnapshot(t.configFile, managed)).toBeUndefined();
    expect(await fastToken(['token'], env)).toBeUndefined();
    for (const fast of ['1', '0']) {
      r = await gp(['token'], { GATEPASS_TOKEN_FAST_PATH: fast });
      expect(r.stdout, r.stderr).toBe('tok-managed-b\n');
    }
    expect((await fastToken(['token'], env))?.stdout).toBe('tok-managed-b\n');
    expect(readFreshSnapshot(t.configFile, managed)?.config.providers['default']?.gateway_url).toBe(
      'https://b.corp.example.com',
    );
    // Removing the managed file: the fast path must not keep serving the merged view.
    rmSync(managed);
    expect(await fastToken(['token'], env)).toBeUndefined();
  });
});

/** The fenced blocks of the README's "Deploying to a fleet" section, by language. */
function fleetBlocks(): Array<{ lang: string; body: string }> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Deploying to a fleet');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 5);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

describe.skipIf(process.platform === 'win32' || !isRoot)('README: Deploying to a fleet', () => {
  it('every command of the worked example works as written', async () => {
    const blocks = fleetBlocks();
    const yaml = blocks.find((b) => b.lang === 'yaml')!;
    const [admin, ...user] = blocks.filter((b) => b.lang === 'sh');
    expect(yaml.body).toContain('locked:');
    const lines = (b: { body: string }) =>
      b.body
        .split('\n')
        .map((l) => l.replace(/\s+#.*$/, '').trim())
        .filter((l) => l && !l.startsWith('#'));
    // The administrator's machine: a working config with those settings.
    const adminHome = makeTempHome();
    const ran: string[] = [];
    try {
      const r0 = await runGatepass(
        [
          'config',
          'set',
          '--provider',
          'corp',
          'gateway_url',
          'https://llm.corp.example.com',
          'oidc.issuer',
          'https://sso.corp.example.com',
          'oidc.client_id',
          'gatepass',
          'default_provider',
          'corp',
        ],
        { env: adminHome.env },
      );
      expect(r0.code, r0.stderr).toBe(0);
      for (const line of lines(admin!)) {
        const words = line.replace(/^sudo /, '').split(/\s+/);
        if (words[0] === 'install') {
          const args = words
            .slice(1)
            .map((w) =>
              w === '/etc/gatepass'
                ? dir
                : w === '/etc/gatepass/config.yaml'
                  ? managed
                  : w === 'config.yaml'
                    ? path.join(adminHome.home, w)
                    : w,
            );
          execFileSync('install', args);
          ran.push('install');
          continue;
        }
        expect(words.slice(0, 3), line).toEqual(['gatepass', 'mdm', 'print']);
        const redirect = words.indexOf('>');
        const r = await runGatepass(words.slice(1, redirect), { env: adminHome.env });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(yaml.body); // the README shows exactly what it prints
        writeFileSync(path.join(adminHome.home, words[redirect + 1]!), r.stdout);
        ran.push('mdm print');
      }
    } finally {
      adminHome.cleanup();
    }
    expect(readFileSync(managed, 'utf8')).toBe(yaml.body);
    // A user's machine: the managed file installed, a tool installed, nothing else.
    writeHomeFile(t, '.codex/config.toml', '');
    for (const line of user.flatMap(lines)) {
      const words = line.split(/\s+/);
      expect(words[0], line).toBe('gatepass');
      const args = words.slice(1);
      const r = await gp(args);
      ran.push(args.slice(0, 2).join(' '));
      if (args[0] === 'config' && args[1] === 'set') {
        expect(r.code, line).toBe(2); // the example shows a locked key being refused
        expect(r.stderr).toContain(`gateway_url is locked by your organisation's managed config ${managed}`);
        continue;
      }
      // status exits 1 until the first sign-in (login pending), as the README says.
      expect(r.code, `${line}: ${r.stderr}`).toBe(args[0] === 'status' ? 1 : 0);
      if (args[0] === 'status') expect(r.stdout).toContain('login pending');
      if (args[0] === 'setup') {
        const mine = parseYaml(readFileSync(t.configFile, 'utf8'));
        expect(mine.configured_tools.map((e: { tool: string }) => e.tool)).toContain('codex');
        expect(mine.providers?.corp?.gateway_url).toBeUndefined(); // managed values stay managed
      }
      if (args[0] === 'status') expect(r.stdout).toContain(`Managed config: ${managed}`);
      if (args[0] === 'config')
        expect(r.stdout).toContain('gateway_url: https://llm.corp.example.com # managed');
    }
    expect(ran).toEqual([
      'mdm print',
      'install',
      'install',
      'setup --lazy',
      'status',
      'config show',
      'config set',
    ]);
  });
});

it.skipIf(!isRoot || process.platform === 'win32')(
  'setup --lazy with no flags wires a tool from the managed provider',
  async () => {
    writeManaged(OIDC_MANAGED);
    writeHomeFile(t, '.codex/config.toml', '');
    const r = await gp(['setup', '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    const user = parseYaml(readFileSync(t.configFile, 'utf8'));
    expect(user.configured_tools.map((e: { tool: string }) => e.tool)).toContain('codex');
    expect(user.configured_tools[0].provider).toBe('corp');
    expect(user.providers?.corp?.gateway_url).toBeUndefined();
    expect(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8')).toContain(
      'https://llm.corp.example.com',
    );
  },
);
