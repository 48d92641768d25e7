/**
 * `gatepass mdm print`: each format validated by a real reader. The YAML is installed as a
 * root-owned managed file in a fresh HOME and read back by the config loader; the configuration
 * profile parses with the `plist` package; the .reg file round-trips through a small .reg reader.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildBinary, parse as parsePlist } from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

let t: TempHome;
beforeEach(async () => {
  t = makeTempHome();
  const r = await runGatepass(
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
    ],
    { env: t.env },
  );
  expect(r.code, r.stderr).toBe(0);
});
afterEach(() => t.cleanup());

const print = async (format: string) => {
  const r = await runGatepass(['mdm', 'print', '--format', format], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
};

const EXPECTED = {
  default_provider: 'corp',
  providers: {
    corp: {
      type: 'oidc',
      gateway_url: 'https://llm.corp.example.com',
      oidc: {
        issuer: 'https://sso.corp.example.com',
        client_id: 'gatepass-"fleet"\\id',
        scopes: ['openid', 'offline_access'],
      },
    },
  },
  proxy: { listen_port: 18181 },
  locked: ['gateway_url', 'oidc.issuer', 'oidc.client_id'],
};

/** A small reader of .reg files: `[key]` sections, "name"=value lines (REG_SZ, dword, hex(7)). */
function readReg(text: string): Map<string, Record<string, unknown>> {
  const lines = text.split('\r\n');
  expect(lines[0]).toBe('Windows Registry Editor Version 5.00');
  const keys = new Map<string, Record<string, unknown>>();
  let cur: Record<string, unknown> | undefined;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const key = /^\[(.+)\]$/.exec(line);
    if (key) {
      cur = {};
      keys.set(key[1]!, cur);
      continue;
    }
    const m = /^"((?:[^"\\]|\\.)*)"=(.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    const unq = (s: string) => s.replace(/\\(.)/g, '$1');
    const [, name, raw] = m!;
    let value: unknown;
    if (raw!.startsWith('"')) value = unq(/^"((?:[^"\\]|\\.)*)"$/.exec(raw!)![1]!);
    else if (raw!.startsWith('dword:')) value = Number.parseInt(raw!.slice(6), 16);
    else if (raw!.startsWith('hex(7):')) {
      const bytes = Buffer.from(
        raw!
          .slice(7)
          .split(',')
          .map((h) => Number.parseInt(h, 16)),
      );
      value = bytes.toString('utf16le').replace(/\0\0$/, '').split('\0');
    } else throw new Error(`unknown value type: ${line}`);
    cur![unq(name!)] = value;
  }
  return keys;
}

describe('gatepass mdm print', () => {
  it('--format yaml is a managed file the config loader reads back (locked keys enforced)', async () => {
    const text = await print('yaml');
    expect(parseYaml(text)).toEqual(EXPECTED);
    if (process.getuid?.() !== 0) return; // the managed file must be root-owned
    const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-mdm-'));
    chmodSync(dir, 0o755);
    const fresh = makeTempHome();
    try {
      const managed = path.join(dir, 'config.yaml');
      writeFileSync(managed, text, { mode: 0o644 });
      const env = { ...fresh.env, GATEPASS_MANAGED_CONFIG: managed };
      const shown = await runGatepass(['config', 'show', '--json'], { env });
      expect(shown.code, shown.stderr).toBe(0);
      const view = JSON.parse(shown.stdout);
      expect(view.providers.corp.gateway_url).toBe('https://llm.corp.example.com');
      expect(view.providers.corp.oidc.client_id).toBe('gatepass-"fleet"\\id');
      expect(view.proxy.listen_port).toBe(18181);
      const set = await runGatepass(['config', 'set', 'oidc.client_id', 'other'], { env });
      expect(set.code).toBe(2);
      expect(set.stderr).toContain(
        `oidc.client_id is locked by your organisation's managed config ${managed}`,
      );
    } finally {
      fresh.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--format mobileconfig is a configuration profile a plist parser reads, carrying the keys', async () => {
    const text = await print('mobileconfig');
    const profile = parsePlist(text) as Record<string, unknown>;
    expect(profile['PayloadType']).toBe('Configuration');
    expect(profile['PayloadUUID']).toMatch(
      /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-A[0-9A-F]{3}-[0-9A-F]{12}$/,
    );
    const [payload, ...rest] = profile['PayloadContent'] as Array<Record<string, unknown>>;
    expect(rest).toEqual([]);
    const { PayloadType, PayloadIdentifier, PayloadUUID, PayloadVersion, PayloadDisplayName, ...keys } =
      payload!;
    expect(PayloadType).toBe('dev.gatepass.cli');
    expect(PayloadUUID).not.toBe(profile['PayloadUUID']);
    expect([PayloadIdentifier, PayloadVersion, PayloadDisplayName]).toEqual([
      'dev.gatepass.cli.settings.corp',
      1,
      'gatepass (corp)',
    ]);
    expect(keys).toEqual(EXPECTED);
    expect(await print('mobileconfig')).toBe(text); // deterministic: re-deploying changes nothing
  });

  it.skipIf(process.getuid?.() !== 0)(
    'the managed preferences a profile installs (XML or binary plist) are read as the managed layer',
    async () => {
      const profile = parsePlist(await print('mobileconfig')) as Record<string, unknown>;
      const payload = (profile['PayloadContent'] as Array<Record<string, unknown>>)[0]!;
      const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-mdm-'));
      chmodSync(dir, 0o755);
      const fresh = makeTempHome();
      try {
        // macOS writes the payload's keys (Payload* included) to /Library/Managed Preferences/<domain>.plist.
        const xml = path.join(dir, 'dev.gatepass.cli.plist');
        writeFileSync(xml, (await import('plist')).build(payload as never), { mode: 0o644 });
        const binary = path.join(dir, 'binary.plist');
        writeFileSync(binary, buildBinary(payload as never), { mode: 0o644 });
        for (const managed of [xml, binary]) {
          const env = { ...fresh.env, GATEPASS_MANAGED_CONFIG: managed };
          const shown = await runGatepass(['config', 'show', '--json'], { env });
          expect(shown.code, shown.stderr).toBe(0);
          const view = JSON.parse(shown.stdout);
          expect(view.managed_config).toBe(managed);
          expect(view.default_provider).toBe('corp');
          expect(view.providers.corp.oidc.scopes).toEqual(['openid', 'offline_access']);
          expect(view.proxy.listen_port).toBe(18181);
          expect(view.sources['providers.corp.gateway_url']).toBe('managed');
          const set = await runGatepass(['config', 'set', 'gateway_url', 'https://x.example.com'], { env });
          expect(set.code).toBe(2);
          expect(set.stderr).toContain(
            `gateway_url is locked by your organisation's managed config ${managed}`,
          );
        }
      } finally {
        fresh.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('--format reg round-trips through a .reg reader into the same keys', async () => {
    const text = await print('reg');
    const keys = readReg(text.trimEnd());
    const root = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass';
    expect([...keys.keys()]).toEqual([
      root,
      `${root}\\providers`,
      `${root}\\providers\\corp`,
      `${root}\\providers\\corp\\oidc`,
      `${root}\\proxy`,
    ]);
    // Rebuild the nested object from the key paths.
    const rebuilt: Record<string, unknown> = {};
    for (const [key, values] of keys) {
      let node = rebuilt;
      for (const part of key.slice(root.length).split('\\').filter(Boolean)) {
        node[part] ??= {};
        node = node[part] as Record<string, unknown>;
      }
      Object.assign(node, values);
    }
    expect(rebuilt).toEqual(EXPECTED);
  });

  it('refuses an unknown format (exit 2) and an unconfigured provider (exit 2)', async () => {
    const bad = await runGatepass(['mdm', 'print', '--format', 'json'], { env: t.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('yaml, mobileconfig, reg');
    const none = await runGatepass(['mdm', 'print', '--provider', 'nope'], { env: t.env });
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toContain('nope');
  });
});
