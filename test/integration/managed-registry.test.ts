/**
 * The Windows policy registry key as the managed layer (src/config/registry.ts, reg-query.ts), on
 * Linux: a fake `reg` on PATH (test/helpers/fake-reg.ts) answers `reg query KEY /s` with reg.exe's
 * exact output for the .reg file `gatepass mdm print --format reg` writes, so the two round-trip.
 * Windows is selected through managedSources(env, 'win32') (no global process.platform mock); the
 * built CLI is pointed at the key with GATEPASS_MANAGED_CONFIG=HKLM\….
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { shellQuote } from '../../src/auth/export.js';
import { fastToken } from '../../src/cli/fast-token.js';
import { loadManaged } from '../../src/config/managed.js';
import { managedSources, WINDOWS_POLICY_KEY } from '../../src/config/paths.js';
import { parseRegQuery } from '../../src/config/reg-query.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeReg, installFakeReg } from '../helpers/fake-reg.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');

let t: TempHome;
let dir: string;
let reg: FakeReg;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  t = makeTempHome();
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-reg-'));
  reg = installFakeReg(dir);
  env = { ...t.env, PATH: `${reg.binDir}${path.delimiter}${t.env['PATH'] ?? ''}` };
});
afterEach(() => {
  t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** `mdm print --format reg` (and yaml) of a provider configured in a throwaway HOME. */
async function printed(extra: string[] = []): Promise<{ reg: string; yaml: unknown }> {
  const admin = makeTempHome();
  try {
    const set = await runGatepass(
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
        'gatepass-"fleet"\\id',
        'oidc.scopes',
        'openid offline_access',
        'proxy.listen_port',
        '18181',
        'default_provider',
        'corp',
        ...extra,
      ],
      { env: admin.env },
    );
    expect(set.code, set.stderr).toBe(0);
    const out: string[] = [];
    for (const format of ['reg', 'yaml']) {
      const r = await runGatepass(['mdm', 'print', '--format', format], { env: admin.env });
      expect(r.code, r.stderr).toBe(0);
      out.push(r.stdout);
    }
    return { reg: out[0]!, yaml: parseYaml(out[1]!) };
  } finally {
    admin.cleanup();
  }
}

describe.skipIf(process.platform === 'win32')('Windows policy registry key as the managed layer', () => {
  it('the .reg from `mdm print` read back with `reg query` is the same managed data as the YAML', async () => {
    const { reg: text, yaml } = await printed(['tls.skip_verify', 'true']);
    reg.serve(text);
    const sources = managedSources({ ...env, ProgramData: 'C:\\ProgramData' }, 'win32');
    expect(sources).toEqual([WINDOWS_POLICY_KEY, 'C:\\ProgramData\\gatepass\\config.yaml']);
    const layer = await loadManaged(sources, env);
    expect(layer?.file).toBe(WINDOWS_POLICY_KEY);
    expect(layer?.locked).toEqual(['gateway_url', 'oidc.issuer', 'oidc.client_id']);
    const { locked: _l, ...values } = yaml as Record<string, unknown>;
    // The YAML's data, normalised the way the loader normalises any managed file; the boolean
    // written as a DWORD 1 comes back as true.
    expect(layer?.values).toEqual({
      ...values,
      providers: {
        corp: expect.objectContaining({
          gateway_url: 'https://llm.corp.example.com',
          oidc: expect.objectContaining({
            client_id: 'gatepass-"fleet"\\id',
            scopes: ['openid', 'offline_access'],
          }),
          tls: { skip_verify: true },
        }),
      },
    });
    expect(values['proxy']).toEqual({ listen_port: 18181 });

    // No policy key: the next source (here a missing file) is used, so no managed layer at all.
    reg.serve(undefined);
    expect(await loadManaged(sources, env)).toBeUndefined();
    // Not on Windows: the registry is never consulted.
    reg.serve(text);
    expect(managedSources({ ...env }, 'linux')).toEqual(['/etc/gatepass/config.yaml']);
  });

  it('the built CLI merges the policy key, names it in `config show`, and refuses locked keys (exit 2)', async () => {
    reg.serve((await printed()).reg);
    const e = { ...env, GATEPASS_MANAGED_CONFIG: 'HKLM\\SOFTWARE\\Policies\\gatepass' };
    const shown = await runGatepass(['config', 'show', '--json'], { env: e });
    expect(shown.code, shown.stderr).toBe(0);
    const view = JSON.parse(shown.stdout);
    expect(view.managed_config).toBe('HKLM\\SOFTWARE\\Policies\\gatepass');
    expect(view.default_provider).toBe('corp');
    expect(view.providers.corp.oidc.client_id).toBe('gatepass-"fleet"\\id');
    expect(view.providers.corp.oidc.scopes).toEqual(['openid', 'offline_access']);
    expect(view.proxy.listen_port).toBe(18181);
    expect(view.sources['providers.corp.gateway_url']).toBe('managed');
    for (const key of ['gateway_url', 'oidc.issuer', 'oidc.client_id']) {
      const set = await runGatepass(['config', 'set', key, 'https://other.example.com'], { env: e });
      expect(set.code, key).toBe(2);
      expect(set.stderr).toContain(
        `${key} is locked by your organisation's managed config HKLM\\SOFTWARE\\Policies\\gatepass`,
      );
    }
    // An unlocked key is the user's to set.
    const ok = await runGatepass(['config', 'set', 'oidc.callback_port', '18999'], { env: e });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a policy key with a value of an unsupported type is refused with a clear error naming it', async () => {
    reg.serveRaw(`\r\n${WINDOWS_POLICY_KEY}\r\n    default_provider    REG_BINARY    00ff\r\n\r\n`);
    const e = { ...env, GATEPASS_MANAGED_CONFIG: WINDOWS_POLICY_KEY };
    const r = await runGatepass(['config', 'show', '--json'], { env: e });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`managed policy ${WINDOWS_POLICY_KEY}\\default_provider: REG_BINARY`);
    expect(r.stdout).toBe('');
    // Values the config rejects: the same validation as a managed file.
    for (const [body, message] of [
      [
        `${WINDOWS_POLICY_KEY}\\providers\\corp\r\n    type    REG_SZ    saml`,
        /providers\.corp\.type.*must be oidc or command/,
      ],
      [
        `${WINDOWS_POLICY_KEY}\r\n    locked    REG_MULTI_SZ    gateway_url\\0no.such.key`,
        /locked must be a list of config keys/,
      ],
    ] as const) {
      reg.serveRaw(`\r\n${body}\r\n\r\n`);
      const bad = await runGatepass(['config', 'show', '--json'], { env: e });
      expect(bad.code, bad.stderr).toBe(1);
      expect(bad.stderr).toMatch(message);
      expect(bad.stderr).toContain(WINDOWS_POLICY_KEY);
    }
  });

  it('`gatepass token` follows a policy change on the fast path and the full path', async () => {
    const policy = (token: string) =>
      reg.serveRaw(
        [
          '',
          WINDOWS_POLICY_KEY,
          '',
          `${WINDOWS_POLICY_KEY}\\providers`,
          '',
          `${WINDOWS_POLICY_KEY}\\providers\\default`,
          '    type    REG_SZ    command',
          '    gateway_url    REG_SZ    https://llm.corp.example.com',
          '',
          `${WINDOWS_POLICY_KEY}\\providers\\default\\auth`,
          `    token_command    REG_SZ    ${cmd('bare', token)}`,
          `    token_cache    REG_SZ    ${path.join(t.home, `${token}.json`)}`,
          '',
          '',
        ].join('\r\n'),
      );
    const e = { ...env, GATEPASS_MANAGED_CONFIG: WINDOWS_POLICY_KEY };
    policy('tok-reg-a');
    let r = await runGatepass(['config', 'set', 'proxy.listen_port', '18080'], { env: e });
    expect(r.code, r.stderr).toBe(0);
    r = await runGatepass(['token'], { env: e });
    expect(r.stdout, r.stderr).toBe('tok-reg-a\n');
    expect((await fastToken(['token'], e))?.stdout).toBe('tok-reg-a\n');
    policy('tok-reg-b');
    expect(await fastToken(['token'], e)).toBeUndefined(); // the snapshot no longer matches the key
    r = await runGatepass(['token'], { env: e });
    expect(r.stdout, r.stderr).toBe('tok-reg-b\n');
    expect((await fastToken(['token'], e))?.stdout).toBe('tok-reg-b\n');
    reg.serve(undefined); // the policy is removed: the merged view must not be served
    expect(await fastToken(['token'], e)).toBeUndefined();
  });
});

describe('parseRegQuery', () => {
  it('reads reg.exe output: nested keys, empty keys, DWORD/QWORD, MULTI_SZ, EXPAND_SZ, (Default)', () => {
    const out = [
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass',
      '    (Default)    REG_SZ    ignored',
      '    default_provider    REG_SZ    corp',
      '    locked    REG_MULTI_SZ    gateway_url\\0oidc.issuer',
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass\\providers',
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass\\providers\\corp',
      '    type    REG_SZ    oidc',
      '    gateway_url    REG_EXPAND_SZ    https://llm.example.com/a b',
      '    models    REG_MULTI_SZ    ',
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass\\providers\\corp\\tls',
      '    skip_verify    REG_DWORD    0x0',
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass\\proxy',
      '    listen_port    REG_QWORD    0x4705',
      '',
      '',
    ].join('\r\n');
    expect(parseRegQuery(out, 'HKLM\\SOFTWARE\\Policies\\gatepass')).toEqual({
      default_provider: 'corp',
      locked: ['gateway_url', 'oidc.issuer'],
      providers: {
        corp: {
          type: 'oidc',
          gateway_url: 'https://llm.example.com/a b',
          models: [],
          tls: { skip_verify: false },
        },
      },
      proxy: { listen_port: 18181 },
    });
    expect(() => parseRegQuery('\r\nHKEY_CURRENT_USER\\Other\r\n')).toThrow(/unexpected line/);
    expect(() => parseRegQuery(`\r\n${WINDOWS_POLICY_KEY}\r\n  stray\r\n`)).toThrow(/unexpected line/);
    expect(() => parseRegQuery(`\r\n${WINDOWS_POLICY_KEY}\r\n    n    REG_DWORD    twelve\r\n`)).toThrow(
      /REG_DWORD value "twelve"/,
    );
  });
});

// A trusted YAML file is still read when no policy key exists (the win32 order: key, then file).
describe.skipIf(process.platform === 'win32' || process.getuid?.() !== 0)('registry then file', () => {
  it('falls back to the file when the policy key is absent, and the key wins when present', async () => {
    const file = path.join(dir, 'config.yaml');
    chmodSync(dir, 0o755);
    writeFileSync(file, 'default_provider: from-file\nlocked: []\n', { mode: 0o644 });
    reg.serve(undefined);
    expect((await loadManaged([WINDOWS_POLICY_KEY, file], env))?.values['default_provider']).toBe(
      'from-file',
    );
    reg.serveRaw(`\r\n${WINDOWS_POLICY_KEY}\r\n    default_provider    REG_SZ    from-key\r\n\r\n`);
    const layer = await loadManaged([WINDOWS_POLICY_KEY, file], env);
    expect(layer?.file).toBe(WINDOWS_POLICY_KEY);
    expect(layer?.values['default_provider']).toBe('from-key');
  });
});
