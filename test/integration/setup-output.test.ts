/**
 * What setup prints, through the built CLI: the lazy notice goes to stderr (stdout stays empty),
 * says what happens without a browser, is silenced by -q and not printed when no tool was wired;
 * `--verbose --quiet` together is a usage error. Placeholder hosts are refused outside --dry-run
 * and an issuer whose discovery document names another issuer is an error showing both.
 */

import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { filesOf, snapshotTree } from '../helpers/tree.js';

const FLAGS = [
  '--gateway-url',
  'https://llm.gatepass.test',
  '--issuer',
  'https://sso.gatepass.test',
  '--client-id',
  'gp',
];

let t: TempHome;
let server: Server | undefined;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  t.cleanup();
});

describe('setup output', () => {
  it('the lazy notice is on stderr, names the no-browser case, and -q silences it', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const r = await runGatepass(['setup', '--tools', 'claude', '--lazy', ...FLAGS], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Lazy mode: skipping OIDC login/);
    expect(r.stderr).toMatch(/prints the sign-in URL on stderr/);
    expect(r.stderr).toMatch(/`gatepass login`/);
    const q = await runGatepass(['-q', 'setup', '--tools', 'claude', '--lazy', ...FLAGS], { env: t.env });
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toBe('');
    expect(q.stderr).not.toMatch(/Lazy mode/);
  });

  it('no lazy notice when no tool was wired', async () => {
    const r = await runGatepass(['setup', '--lazy', ...FLAGS], { env: { ...t.env, PATH: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/No supported AI tools were found/);
    expect(r.stderr).not.toMatch(/Lazy mode/);
    expect(r.stdout).toBe('');
  });

  it('--verbose --quiet is a usage error', async () => {
    const r = await runGatepass(['-v', '-q', 'setup', '--lazy', ...FLAGS], { env: t.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--verbose and --quiet contradict each other/);
    expect((await runGatepass(['status', '--verbose', '--quiet'], { env: t.env })).code).toBe(2);
  });
});

describe('setup refuses placeholder hosts and checks the issuer', () => {
  it('refuses example.com / example.org / example.net / .invalid hosts outside --dry-run', async () => {
    const env = { ...t.env };
    delete env['GATEPASS_ALLOW_PLACEHOLDER_HOSTS'];
    mkdirSync(path.join(t.home, '.claude'));
    const before = snapshotTree(t.home);
    for (const [gw, issuer] of [
      ['https://llm.example.com', 'https://sso.corp.test'],
      ['https://llm.corp.test', 'https://example.org/realms/x'],
      ['https://gw.sub.example.net', 'https://sso.corp.test'],
      ['https://llm.corp.invalid', 'https://sso.corp.test'],
    ]) {
      const r = await runGatepass(
        ['setup', '--lazy', '--gateway-url', gw!, '--issuer', issuer!, '--client-id', 'gp'],
        { env },
      );
      expect(r.code, `${gw} ${issuer}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(
        /is a placeholder: setup would wire your AI tools to a host that is not yours/,
      );
      expect(r.stderr).toMatch(/put in your own values/);
      expect(filesOf(snapshotTree(t.home))).toEqual(filesOf(before));
    }
    // A look-alike that is not a placeholder is fine; the override lets tests use placeholders.
    const ok = await runGatepass(
      [
        'setup',
        '--lazy',
        '--tools',
        'claude',
        '--gateway-url',
        'https://myexample.com.corp.test',
        '--issuer',
        'https://sso.corp.test',
        '--client-id',
        'gp',
      ],
      { env },
    );
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await runGatepass(['setup', '--lazy', '--tools', 'claude'], {
      env: { ...env, GATEPASS_ALLOW_PLACEHOLDER_HOSTS: 'yes please' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/GATEPASS_ALLOW_PLACEHOLDER_HOSTS must be 1 or 0/);
  });

  it('--lazy still fetches the discovery document: another issuer is an error showing both', async () => {
    let hits = 0;
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/` }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mkdirSync(path.join(t.home, '.claude'));
    const before = snapshotTree(t.home);
    const r = await runGatepass(
      [
        'setup',
        '--lazy',
        '--tools',
        'claude',
        '--gateway-url',
        'https://llm.gatepass.test',
        '--issuer',
        issuer,
        '--client-id',
        'gp',
      ],
      { env: t.env },
    );
    expect(hits).toBe(1);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `oidc.issuer is ${issuer}, but the identity provider's discovery document names its issuer ${issuer}/`,
    );
    expect(r.stderr).toContain(`--issuer ${issuer}/`);
    expect(filesOf(snapshotTree(t.home))).toEqual(filesOf(before));
    // With the issuer as the IdP names it, the same lazy setup goes through.
    const ok = await runGatepass(
      [
        'setup',
        '--lazy',
        '--tools',
        'claude',
        '--gateway-url',
        'https://llm.gatepass.test',
        '--issuer',
        `${issuer}/`,
        '--client-id',
        'gp',
      ],
      { env: t.env },
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/identity provider/);
  });

  it('an unreachable issuer is a warning, not a failure (MDM before the VPN)', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const r = await runGatepass(['setup', '--lazy', '--tools', 'claude', ...FLAGS], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: could not reach the identity provider at https:\/\/sso\.gatepass\.test\/\.well-known\/openid-configuration/,
    );
  });
});
