/**
 * A real, private Secret Service for tests: gnome-keyring-daemon (secrets component) inside its own
 * dbus-run-session, with a temporary data dir and a login keyring unlocked with a known password.
 * Child processes given `env` talk to it through @napi-rs/keyring exactly as on a desktop.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const KEYRING_PASSWORD = 'gatepass-test-keyring';

export interface TestKeyring {
  /** Environment for processes that should use this Secret Service. */
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  password: string;
  /** Read a secret as gatepass stores it (service "gatepass"), from a child process. */
  read(key: string, service?: string): string | undefined;
  /** Write a secret where gatepass looks for it (service "gatepass"), from a child process. */
  write(key: string, value: string, service?: string): void;
  close(): Promise<void>;
}

/** True when the binaries a real Secret Service needs exist on this machine. */
export function keyringAvailable(): boolean {
  return existsSync('/usr/bin/gnome-keyring-daemon') && existsSync('/usr/bin/dbus-run-session');
}

export async function startTestKeyring(): Promise<TestKeyring> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-keyring-'));
  const runtime = path.join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_RUNTIME_DIR: runtime,
    KEYRING_PW: KEYRING_PASSWORD,
  };
  const child: ChildProcess = spawn(
    'dbus-run-session',
    [
      '--',
      'sh',
      '-c',
      'echo "ADDR=$DBUS_SESSION_BUS_ADDRESS"; printf %s "$KEYRING_PW" | exec gnome-keyring-daemon --unlock --components=secrets --foreground',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('dbus-run-session did not start')), 10_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ADDR=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`dbus-run-session exited with ${code}`)));
  });
  const busEnv = { DBUS_SESSION_BUS_ADDRESS: address };
  const script = `
    const { Entry } = require(${JSON.stringify(resolveModule('@napi-rs/keyring'))});
    const [op, service, key, value] = process.argv.slice(1);
    const e = new Entry(service, key);
    if (op === 'probe') { e.setPassword('probe'); e.deletePassword(); }
    else if (op === 'write') e.setPassword(value);
    else { const v = e.getPassword(); if (v != null) process.stdout.write(v); }
  `;
  const run = (op: string, service: string, key: string, value = '') =>
    spawnSync(process.execPath, ['-e', script, op, service, key, value], {
      env: { ...process.env, ...busEnv },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const started = Date.now();
  for (;;) {
    const r = run('probe', 'gatepass-probe', 'probe');
    if (r.status === 0) break;
    if (Date.now() - started > 10_000) throw new Error(`Secret Service not ready: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    env: busEnv,
    password: KEYRING_PASSWORD,
    read(key, service = 'gatepass') {
      const r = run('read', service, key);
      return r.status === 0 && r.stdout !== '' ? r.stdout : undefined;
    },
    write(key, value, service = 'gatepass') {
      const r = run('write', service, key, value);
      if (r.status !== 0) throw new Error(`keyring write failed: ${r.stderr}`);
    },
    async close() {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function resolveModule(id: string): string {
  return path.join(path.resolve(import.meta.dirname, '../../node_modules'), id);
}
