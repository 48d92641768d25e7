/**
 * The README's test command (`npm test`) first runs scripts/test-deps.sh, which installs the Debian
 * packages the end-to-end tests need when they are missing: apt-get as root, sudo otherwise, nothing
 * when all are there. Run against fake dpkg-query / apt-get / sudo / id on PATH that log their argv.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runProcess } from '../helpers/cli.js';

let bin: string;
let log: string;
beforeEach(() => {
  bin = mkdtempSync(path.join(tmpdir(), 'gatepass-fakebin-'));
  log = path.join(bin, 'calls.log');
  writeFileSync(log, '');
});
afterEach(() => rmSync(bin, { recursive: true, force: true }));

function fake(name: string, body: string): void {
  const f = path.join(bin, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
}

/** Fakes: `installed` packages are reported installed; `uid` is what `id -u` says. */
function fakes(installed: string[], uid: number): void {
  fake(
    'dpkg-query',
    `for last; do :; done\ncase " ${installed.join(' ')} " in *" $last "*) echo "install ok installed";; esac`,
  );
  fake('apt-get', `echo "apt-get $*" >> ${log}`);
  fake('sudo', `echo "sudo $1" >> ${log}; exec "$@"`);
  fake('id', `echo ${uid}`);
}

/** The script's own package list (`packages=(…)`), so the test follows it. */
const PACKAGES = /^packages=\(([^)]*)\)/m
  .exec(readFileSync(path.join(ROOT, 'scripts/test-deps.sh'), 'utf8'))![1]!
  .trim()
  .split(/\s+/);

const run = () =>
  runProcess('bash', [path.join(ROOT, 'scripts/test-deps.sh')], {
    env: { ...process.env, PATH: `${bin}${path.delimiter}/usr/bin${path.delimiter}/bin` },
  });

describe('scripts/test-deps.sh (run by npm test)', () => {
  it('is what the test script runs first', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toBe(
      'bash scripts/test-deps.sh && npm run build && vitest run && npm run test:e2e:sea && node scripts/test-e2e-latest.mjs --if-reachable',
    );
  });

  it('not root: installs only the missing packages through sudo', async () => {
    expect(PACKAGES).toEqual(expect.arrayContaining(['chromium', 'gnome-keyring', 'dbus', 'nginx-light']));
    fakes(
      PACKAGES.filter((p) => p !== 'chromium' && p !== 'gnome-keyring'),
      1000,
    );
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing Debian packages the end-to-end tests need: chromium gnome-keyring/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'sudo apt-get',
      'apt-get update -qq',
      'sudo apt-get',
      'apt-get install -y -qq --no-install-recommends chromium gnome-keyring',
    ]);
  });

  it('root: apt-get directly', async () => {
    fakes([], 0);
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    const calls = readFileSync(log, 'utf8');
    expect(calls).not.toMatch(/sudo/);
    expect(calls).toContain(`apt-get install -y -qq --no-install-recommends ${PACKAGES.join(' ')}`);
  });

  it('everything installed: nothing to do', async () => {
    fakes(PACKAGES, 1000);
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});
