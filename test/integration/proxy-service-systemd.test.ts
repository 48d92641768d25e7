/**
 * `gatepass proxy install|uninstall` against a REAL systemd user manager: in this container PID 1 is
 * not systemd, so the test starts `systemd --user` itself for a throwaway user (nobody), in a private
 * mount namespace with a delegated cgroup (test/fixtures/user-systemd.sh), then runs gatepass as
 * that user: the unit is enabled and started by systemd, `systemctl --user is-active` says active,
 * and the proxy it runs forwards a request to a local gateway with the provider's token; uninstall
 * stops and removes it. Needs root, systemd, unshare and setpriv (skipped, saying why, without them).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { gatepassArgv, type RunResult, runProcess } from '../helpers/cli.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { freePort } from '../helpers/ports.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/user-systemd.sh');
const UID = 65534; // nobody
const GID = 65534;

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (starting a user manager for a test user needs root)';
  if (!existsSync('/lib/systemd/systemd')) return 'systemd is not installed';
  for (const tool of ['unshare', 'setpriv', 'nsenter']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  }
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'no mount namespaces here (unshare -m)';
  return undefined;
}
const why = unavailable();
if (why) console.warn(`proxy-service-systemd: skipped: ${why}`);

let manager: ChildProcess | undefined;
let home = '';
let runtime = '';
const cgroup = `gatepass-test-${process.pid}-${randomBytes(4).toString('hex')}`;
let fake: FakeLlm;

const KEY = generateLocalProxyKey();
const TOKEN = `tok-systemd-${randomBytes(6).toString('hex')}`;

/** Run as the test user, inside the manager's mount namespace, with only the given environment. */
function asUser(argv: [string, string[]], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  const env = {
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    ...extraEnv,
  };
  return runProcess(
    'nsenter',
    [
      '-t',
      String(manager!.pid),
      '-m',
      'setpriv',
      `--reuid=${UID}`,
      `--regid=${GID}`,
      '--clear-groups',
      'env',
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      argv[0],
      ...argv[1],
    ],
    { cwd: '/', timeoutMs: 60_000 },
  );
}

const systemctl = (...args: string[]) => asUser(['systemctl', ['--user', ...args]]);
const SECRETS = {
  GATEPASS_SECRET_STORE: 'env',
  GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
  GP_TEST_TOKEN: TOKEN,
};

function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeCgroup(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // still populated for a moment after the manager exits; the next attempt removes it
  }
}

describe.skipIf(why !== undefined)('proxy install with a real systemd user manager', () => {
  beforeAll(async () => {
    fake = await startFakeLlm();
    home = mkdtempSync(path.join(tmpdir(), 'gatepass-sd-home-'));
    runtime = mkdtempSync(path.join(tmpdir(), 'gatepass-sd-run-'));
    chmodSync(home, 0o755);
    chmodSync(runtime, 0o700);
    const port = await freePort();
    const configDir = path.join(home, '.config/gatepass');
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      path.join(configDir, 'config.yaml'),
      `version: 1\ndefault_provider: default\nproviders:\n  default:\n    type: command\n    gateway_url: ${fake.url}\n    auth:\n      env_var: GP_TEST_TOKEN\nproxy:\n  listen_port: ${port}\n`,
      { mode: 0o600 },
    );
    spawnSync('chown', ['-R', `${UID}:${GID}`, home]);
    chownSync(runtime, UID, GID);
    manager = spawn(
      'unshare',
      ['-m', '--propagation', 'private', FIXTURE, String(UID), String(GID), home, runtime, cgroup],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    manager.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    let state = '';
    for (let i = 0; i < 120 && manager.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      state = (await systemctl('is-system-running')).stdout.trim();
      if (state === 'running' || state === 'degraded') break;
    }
    if (state !== 'running' && state !== 'degraded') {
      throw new Error(
        `the systemd user manager did not start (state ${state || 'none'}; exit ${manager.exitCode}): ${stderr}`,
      );
    }
    // What a login session's environment gives the user's services; here the secrets come from it.
    const set = await systemctl('set-environment', ...Object.entries(SECRETS).map(([k, v]) => `${k}=${v}`));
    expect(set.code, set.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (manager && manager.exitCode === null) {
      const exited = new Promise((r) => manager!.once('exit', r));
      manager.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (manager.exitCode === null) manager.kill('SIGKILL');
    }
    for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']) {
      for (let i = 0; i < 20 && existsSync(path.join(root, cgroup)); i++) {
        removeCgroup(path.join(root, cgroup));
        if (existsSync(path.join(root, cgroup))) await new Promise((r) => setTimeout(r, 250));
      }
    }
    await fake?.close();
    if (home) rmSync(home, { recursive: true, force: true });
    if (runtime) rmSync(runtime, { recursive: true, force: true });
  }, 60_000);

  it('install enables and starts the unit; its proxy serves requests; uninstall stops and removes it', async () => {
    const install = await asUser(gatepassArgv(['proxy', 'install']), SECRETS);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).toContain('Installed and started the gatepass proxy service');
    const unit = path.join(home, '.config/systemd/user/gatepass-proxy.service');
    expect(existsSync(unit)).toBe(true);
    expect((await systemctl('is-active', 'gatepass-proxy.service')).stdout.trim()).toBe('active');
    expect((await systemctl('is-enabled', 'gatepass-proxy.service')).stdout.trim()).toBe('enabled');

    // The proxy systemd runs (as the test user) answers that user and injects the provider's token;
    // another user (this root test process) is refused by its same-user check.
    const port = Number(
      /listen_port: (\d+)/.exec(readFileSync(path.join(home, '.config/gatepass/config.yaml'), 'utf8'))![1],
    );
    const request = `fetch('http://127.0.0.1:${port}/v1/chat/completions', { method: 'POST',
      headers: { authorization: 'Bearer ${KEY}', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'from systemd' }] }) })
      .then((r) => console.log(r.status), () => console.log('refused'))`;
    let status = '';
    for (let i = 0; i < 60 && status !== '200'; i++) {
      status = (await asUser([process.execPath, ['-e', request]])).stdout.trim();
      if (status === 'refused') await new Promise((r) => setTimeout(r, 500));
      else break;
    }
    expect(status).toBe('200');
    expect(fake.requests.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
    const other = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(other.status).toBe(403);
    const pid = (await systemctl('show', '-p', 'MainPID', '--value', 'gatepass-proxy.service')).stdout.trim();
    expect(Number(pid)).toBeGreaterThan(0);

    const uninstall = await asUser(gatepassArgv(['proxy', 'uninstall']), SECRETS);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(existsSync(unit)).toBe(false);
    expect((await systemctl('is-active', 'gatepass-proxy.service')).stdout.trim()).not.toBe('active');
    const after = await fetch(`http://127.0.0.1:${port}/`).catch(() => 'refused');
    expect(after).toBe('refused');
  });
});
