/**
 * A config file (or directory) others could write is refused, as ssh refuses its own config: through
 * the built CLI with a second real Unix user (created here with useradd; the tests run as root, whose
 * own checks must still refuse another user's file), group/world-writable modes and directories, the
 * sticky /tmp case, a root-owned managed file read by an ordinary user, and the token fast path's
 * snapshot.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { readFreshSnapshot, snapshotFileFor } from '../../src/config/snapshot.js';
import { CLI, makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');
const isRoot = process.getuid?.() === 0;

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) => runGatepass(args, { env: { ...t.env, ...env } });

/** A config with a command provider whose token command would run as us. */
async function writeConfig(file: string): Promise<void> {
  const r = await gp([
    '--config',
    file,
    'config',
    'set',
    '--type',
    'command',
    '--gateway-url',
    'https://corp.example.com',
    '--token-command',
    cmd('bare', 'tok-trusted-1234'),
  ]);
  expect(r.code, r.stderr).toBe(0);
}

describe.skipIf(process.platform === 'win32')('config modes', () => {
  it('refuses a group-writable (0664) or world-writable (0646) config file, naming the mode and the fix', async () => {
    await writeConfig(t.configFile);
    expect((await gp(['token'])).stdout).toBe('tok-trusted-1234\n');
    for (const [mode, who] of [
      [0o664, 'its group'],
      [0o646, 'everyone'],
    ] as const) {
      chmodSync(t.configFile, mode);
      for (const args of [['token'], ['config', 'show'], ['config', 'set', '--timeout', '30']]) {
        const r = await gp(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(
          `refusing to use the config file ${t.configFile}: it is writable by ${who} (mode 0${mode.toString(8)})`,
        );
        expect(r.stderr).toContain(`chmod go-w ${t.configFile}`);
      }
    }
    chmodSync(t.configFile, 0o600);
    expect((await gp(['token'])).stdout).toBe('tok-trusted-1234\n');
  });

  it('refuses a config in a 0777 directory (and in any writable directory above it)', async () => {
    const dir = path.dirname(t.configFile);
    await writeConfig(t.configFile);
    for (const target of [dir, path.dirname(dir)]) {
      chmodSync(target, 0o777);
      const r = await gp(['token']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`the directory ${target} of the config file ${t.configFile}`);
      expect(r.stderr).toContain('writable by everyone (mode 0777)');
      expect(r.stderr).toContain(`chmod go-w ${target}`);
      chmodSync(target, 0o700);
    }
    expect((await gp(['token'])).code).toBe(0);
  });

  it('accepts a 0600 file of yours in a sticky world-writable directory (/tmp-like)', async () => {
    const sticky = path.join(t.home, 'shared');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const file = path.join(sticky, 'gatepass.yaml');
    await writeConfig(file);
    const r = await gp(['--config', file, 'token']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('tok-trusted-1234\n');
    // Without the sticky bit anyone could swap the file: refused.
    chmodSync(sticky, 0o777);
    expect((await gp(['--config', file, 'token'])).stderr).toContain(`the directory ${sticky}`);
  });
});

describe.skipIf(process.platform === 'win32' || !isRoot)(
  'config owned by another user (needs root: useradd, chown)',
  () => {
    const user = `gpt${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
    let uid: number;
    let gid: number;
    beforeAll(() => {
      // useradd takes /etc/passwd's lock; another test doing the same may hold it for a moment.
      for (let i = 0; ; i++) {
        const r = spawnSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', user], { encoding: 'utf8' });
        if (r.status === 0) break;
        if (i >= 20) throw new Error(`useradd failed: ${r.stderr}`);
        execFileSync('sleep', ['0.5']);
      }
      uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    });
    afterAll(() => {
      spawnSync('userdel', [user]);
    });

    it('root refuses a config file owned by another (non-root) user, naming the owner', async () => {
      await writeConfig(t.configFile);
      // Cached token and a fresh snapshot: the fast path would serve it without the check.
      expect((await gp(['token'])).stdout).toBe('tok-trusted-1234\n');
      chownSync(t.configFile, uid, gid);
      for (const args of [
        ['token'],
        ['config', 'show'],
        ['exec', '--', 'true'],
        ['config', 'set', '--timeout', '30'],
      ]) {
        const r = await gp(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(
          `refusing to use the config file ${t.configFile}: it is owned by ${user} (uid ${uid})`,
        );
        expect(r.stderr).toMatch(/chown/);
      }
      // The refused file was not touched (config set did not rewrite it).
      expect(readFileSync(t.configFile, 'utf8')).not.toContain('timeout: 30');
    });

    it('refuses a config whose directory belongs to another user', async () => {
      await writeConfig(t.configFile);
      const dir = path.dirname(t.configFile);
      chownSync(dir, uid, gid);
      const r = await gp(['token']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `the directory ${dir} of the config file ${t.configFile}: it is owned by ${user}`,
      );
    });

    it('the fast path refuses a snapshot owned by another user or writable by others', async () => {
      await writeConfig(t.configFile);
      expect((await gp(['token'])).code).toBe(0);
      const snap = snapshotFileFor(t.configFile);
      expect(readFreshSnapshot(t.configFile)?.usable).toEqual(['default']);
      chownSync(snap, uid, gid);
      expect(readFreshSnapshot(t.configFile)).toBeUndefined();
      chownSync(snap, 0, 0);
      chmodSync(snap, 0o666);
      expect(readFreshSnapshot(t.configFile)).toBeUndefined();
      chmodSync(snap, 0o600);
      expect(readFreshSnapshot(t.configFile)).toBeDefined();
      // A snapshot of someone else's never makes gatepass run their config's command: the full path
      // (which checks and refreshes the snapshot) still serves ours.
      chownSync(snap, uid, gid);
      const r = await gp(['token']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('tok-trusted-1234\n');
    });

    it('an ordinary user accepts a root-owned managed config (not group/world-writable)', async () => {
      const managed = mkdtempSync(path.join(tmpdir(), 'gatepass-managed-'));
      const home = mkdtempSync(path.join(tmpdir(), 'gatepass-otherhome-'));
      try {
        chmodSync(managed, 0o755);
        chownSync(home, uid, gid);
        const file = path.join(managed, 'config.yaml');
        writeFileSync(
          file,
          'default_provider: corp\nproviders:\n  corp:\n    type: command\n    gateway_url: https://corp.example.com\n    auth:\n      token_command: echo tok-managed-1234\n',
          { mode: 0o644 },
        );
        const asUser = (configFile: string) =>
          spawnSync(
            'runuser',
            ['-u', user, '--', 'env', `HOME=${home}`, process.execPath, CLI, '--config', configFile, 'token'],
            {
              encoding: 'utf8',
              env: { PATH: process.env['PATH'], GATEPASS_SECRET_STORE: 'file' },
              timeout: 30_000,
            },
          );
        const ok = asUser(file);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stdout).toBe('tok-managed-1234\n');
        chmodSync(file, 0o664);
        const refused = asUser(file);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain('it is writable by its group (mode 0664)');
      } finally {
        rmSync(managed, { recursive: true, force: true });
        rmSync(home, { recursive: true, force: true });
      }
    });
  },
);
