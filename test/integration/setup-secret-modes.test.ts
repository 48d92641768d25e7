/**
 * No secret in a file others can read: a tool file that gets the local proxy key is made 0600 when
 * it was group/world readable (its old mode comes back on teardown, with every byte), one owned by
 * another user is refused, and everything setup creates is private whatever the umask. Checked
 * against a second, real Unix user who tries to read the key.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ToolConfigError } from '../../src/errors.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import { LOCAL_PROXY_KEY_NAME, type SecretStore } from '../../src/secrets/types.js';
import type { Prober } from '../../src/setup/probe.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { runTeardown } from '../../src/setup/teardown.js';
import { TOOLS, type WireParams } from '../../src/tools/index.js';
import { CLI, makeTempHome, runProcess, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, setupRunEnv } from '../helpers/setup-env.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];

const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };
const noPrefix: Prober = async () => 404;
const runEnv = () => setupRunEnv({ t, store, out, warnings });
const setup = (tools: string[], extra: Partial<SetupOptions> = {}) =>
  runSetup(runEnv(), { assignments: BASE_FLAGS, tools, self: SELF, probe: noPrefix, lazy: true, ...extra });
const teardown = () => runTeardown(runEnv(), { keepTokens: true });
const modeOf = (f: string) => lstatSync(f).mode & 0o777;

const ENV_TEXT = '# my gemini settings\nGEMINI_API_KEY=users-own-key\nGOOGLE_CLOUD_PROJECT=p1\n';

function writeFile(rel: string, text: string, mode: number): string {
  const f = path.join(t.home, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
}

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
});
afterEach(() => t.cleanup());

describe('a tool file that gets the local proxy key', () => {
  it('a pre-existing 0644 ~/.gemini/.env becomes 0600; teardown puts back 0644 and every byte', async () => {
    const env = writeFile('.gemini/.env', ENV_TEXT, 0o644);
    await setup(['gemini']);
    const key = await store.get(LOCAL_PROXY_KEY_NAME);
    expect(readFileSync(env, 'utf8')).toContain(`GEMINI_API_KEY=${key}`);
    expect(modeOf(env)).toBe(0o600);
    // A re-run keeps it private and keeps the original mode on record.
    await setup(['gemini']);
    expect(modeOf(env)).toBe(0o600);
    await teardown();
    expect(modeOf(env)).toBe(0o644);
    expect(readFileSync(env, 'utf8')).toBe(ENV_TEXT);
  });

  it('a group-readable JSON file (opencode.json, VS Code chatLanguageModels.json) too; a file without a secret keeps its mode', async () => {
    const oc = writeFile('.config/opencode/opencode.json', '{\n  "theme": "x"\n}\n', 0o640);
    const vs = writeFile('.config/Code/User/chatLanguageModels.json', '[]\n', 0o664);
    const gs = writeFile('.gemini/settings.json', '{}\n', 0o644);
    await setup(['opencode', 'vscode', 'gemini']);
    expect([modeOf(oc), modeOf(vs), modeOf(gs)]).toEqual([0o600, 0o600, 0o644]);
    await teardown();
    expect([modeOf(oc), modeOf(vs), modeOf(gs)]).toEqual([0o640, 0o664, 0o644]);
    expect(readFileSync(oc, 'utf8')).toBe('{\n  "theme": "x"\n}\n');
  });

  it('a file already holding the key (wired before) but made readable since is narrowed again', async () => {
    const env = writeFile('.gemini/.env', ENV_TEXT, 0o600);
    await setup(['gemini']);
    chmodSync(env, 0o644);
    await setup(['gemini']);
    expect(modeOf(env)).toBe(0o600);
  });
});

describe('every tool module', () => {
  it('marks each setting that carries the local proxy key as secret (so its file is made private)', () => {
    const KEY = 'gp_local_marker_0123456789';
    const params: WireParams = {
      gatewayUrl: 'https://llm.example.com',
      proxyUrl: 'http://127.0.0.1:14000',
      proxyKey: KEY,
      self: SELF,
      helperTtlMs: 300_000,
      helperTimeoutMs: 360_000,
      anthropicUrl: 'https://llm.example.com',
      openaiUrl: 'https://llm.example.com',
      models: ['m1'],
      bedrockCompat: false,
      helperDir: '/data',
    };
    let carriers = 0;
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      for (const tool of TOOLS) {
        const env = {
          home: '/home/u',
          platform,
          env: { HOME: '/home/u', APPDATA: 'C:\\A', LOCALAPPDATA: 'C:\\L' },
        };
        for (const plan of tool.files(env, params)) {
          for (const s of plan.settings) {
            if (!JSON.stringify(s.value).includes(KEY)) continue;
            carriers++;
            expect(s.secret, `${tool.id} ${plan.file} ${s.path.join('.')}`).toBe(true);
          }
        }
      }
    }
    expect(carriers).toBeGreaterThan(0);
  });
});

describe('files setup creates are private whatever the umask', () => {
  for (const umask of ['022', '000']) {
    it(`umask ${umask}: nothing setup creates is readable by others`, async () => {
      for (const d of ['.gemini', '.claude', '.codex', '.config/opencode', '.config/Code/User']) {
        mkdirSync(path.join(t.home, d), { recursive: true });
      }
      // A user key in Gemini's .env: setup backs it up (the private backups file).
      writeFile('.gemini/.env', 'GEMINI_API_KEY=mine\n', 0o600);
      const before = new Set(readdirSync(t.home, { recursive: true }).map(String));
      const env = { ...t.env, PATH: '/usr/bin:/bin', GATEPASS_SECRET_STORE: 'file' };
      const setupUnderUmask = (extra: NodeJS.ProcessEnv = {}) =>
        runProcess(
          '/bin/sh',
          [
            '-c',
            `umask ${umask}; exec "$0" "$@"`,
            process.execPath,
            CLI,
            'setup',
            '--gateway-url',
            'https://llm.example.com',
            '--issuer',
            'https://sso.example.com',
            '--client-id',
            'gp',
            '--tools',
            'claude,codex,gemini,opencode,vscode',
            '--lazy',
          ],
          { env: { ...env, ...extra }, timeoutMs: 60_000 },
        );
      // The empty lock directory a killed process leaves (made by proper-lockfile, inside the 0700
      // state directory) holds nothing to read and is not a file setup writes.
      const readableByOthers = () =>
        readdirSync(t.home, { recursive: true })
          .map(String)
          .filter((rel) => !before.has(rel) && !rel.endsWith('tool-wiring.lock'))
          .filter((rel) => (lstatSync(path.join(t.home, rel)).mode & 0o077) !== 0);
      // Killed right after its journal was written (the test-only crash hook): the journal, which
      // holds previous values of the files, is private too.
      const killed = await setupUnderUmask({ GATEPASS_TEST_CRASH_AFTER_STEP: '2' });
      expect(killed.signal).toBe('SIGKILL');
      expect(existsSync(path.join(t.home, '.local/share/gatepass/setup-journal.json'))).toBe(true);
      expect(readableByOthers()).toEqual([]);
      rmSync(path.join(t.home, '.local/share/gatepass/tool-wiring.lock'), { recursive: true, force: true });

      const r = await setupUnderUmask();
      expect(r.code, r.stderr).toBe(0);
      const created = readdirSync(t.home, { recursive: true })
        .map(String)
        .filter((rel) => !before.has(rel));
      expect(created).toContain('.config/Code/User/chatLanguageModels.json');
      expect(created).toContain('.config/opencode/opencode.json');
      expect(created).toContain('.local/share/gatepass/tool-backups.json');
      expect(created).toContain('.config/gatepass/config.yaml');
      expect(created.some((rel) => rel.startsWith('.local/share/gatepass/secrets/'))).toBe(true);
      expect(readableByOthers()).toEqual([]);
    });
  }
});

// A second local user, as in the review: it must not be able to read the victim's key.
const isRoot = process.getuid?.() === 0;
const other = `gpx${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let otherUid = -1;

describe.skipIf(!isRoot)('another local user (real Unix user, needs root to create it)', () => {
  beforeAll(() => {
    const r = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', other]);
    expect(r.status, String(r.stderr)).toBe(0);
    otherUid = Number(spawnSync('id', ['-u', other], { encoding: 'utf8' }).stdout.trim());
  });
  afterAll(() => {
    spawnSync('userdel', [other]);
  });
  const readAs = (file: string) =>
    spawnSync('runuser', ['-u', other, '--', 'cat', file], { encoding: 'utf8', timeout: 30_000 });

  it('cannot read the key from ~/.gemini/.env or a created opencode.json; can read the file again after teardown', async () => {
    // A home others may enter, as on many systems, with the user's readable .gemini/.env.
    chmodSync(t.home, 0o755);
    const env = writeFile('.gemini/.env', ENV_TEXT, 0o644);
    chmodSync(path.dirname(env), 0o755);
    mkdirSync(path.join(t.home, '.config/opencode'), { recursive: true, mode: 0o755 });
    chmodSync(path.join(t.home, '.config'), 0o755);
    chmodSync(path.join(t.home, '.config/opencode'), 0o755);
    // The scene is real: before setup the other user reads the file.
    const control = readAs(env);
    expect(control.status, control.stderr).toBe(0);
    expect(control.stdout).toBe(ENV_TEXT);

    await setup(['gemini', 'opencode']);
    const key = (await store.get(LOCAL_PROXY_KEY_NAME))!;
    expect(readFileSync(env, 'utf8')).toContain(key);
    for (const f of [env, path.join(t.home, '.config/opencode/opencode.json')]) {
      const r = readAs(f);
      expect(r.status, f).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
      expect(r.stdout).not.toContain(key);
    }

    await teardown();
    expect(readAs(env).stdout).toBe(ENV_TEXT);
    expect(existsSync(path.join(t.home, '.config/opencode/opencode.json'))).toBe(false);
  });

  it('a readable .env owned by another user (which setup cannot narrow) is refused, naming it; nothing changes', async () => {
    const env = writeFile('.gemini/.env', ENV_TEXT, 0o644);
    chownSync(env, otherUid, -1);
    const err = await setup(['gemini']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolConfigError);
    expect((err as Error).message).toContain(env);
    expect((err as Error).message).toMatch(/readable by other users \(mode 0644\) and owned by uid \d+/);
    expect(readFileSync(env, 'utf8')).toBe(ENV_TEXT);
    expect(modeOf(env)).toBe(0o644);
    expect(existsSync(t.configFile)).toBe(false);
    expect(await store.get(LOCAL_PROXY_KEY_NAME)).toBeUndefined();
  });
});
