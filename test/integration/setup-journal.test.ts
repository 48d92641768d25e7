/**
 * The setup journal's other paths: a write failing mid-way is undone from the journal in-process
 * (bytes, mode, backups, config, new key); a file the user edited after a crash is reverted key by
 * key, keeping the edit; a damaged journal is refused, naming it, and left as it is.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/secrets/memory.js';
import { LOCAL_PROXY_KEY_NAME, type SecretStore } from '../../src/secrets/types.js';
import type { Prober } from '../../src/setup/probe.js';
import { runSetup } from '../../src/setup/setup.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, setupRunEnv } from '../helpers/setup-env.js';

let t: TempHome;
let store: SecretStore;
const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };
const noPrefix: Prober = async () => 404;
const ENV_TEXT = '# my gemini\nGEMINI_API_KEY=users-own-key\n';
const home = (rel: string) => path.join(t.home, rel);
const journal = () => home('.local/share/gatepass/setup-journal.json');

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  mkdirSync(home('.gemini'));
  writeFileSync(home('.gemini/.env'), ENV_TEXT);
  chmodSync(home('.gemini/.env'), 0o644);
});
afterEach(() => t.cleanup());

describe('setup journal', () => {
  it('the config write failing after the tool files were written: .env, its mode, backups, config and the new key all go back', async () => {
    writeFileSync(home('.gemini/settings.json'), '{}\n');
    const warnings: string[] = [];
    const err = await runSetup(setupRunEnv({ t, store, out: [], warnings }), {
      assignments: BASE_FLAGS,
      tools: ['gemini'],
      self: SELF,
      probe: noPrefix,
      // The config file gets damaged while the user is in the browser: saving it fails, last.
      login: async () => {
        mkdirSync(path.dirname(t.configFile), { recursive: true });
        writeFileSync(t.configFile, 'providers: [broken\n');
        return { token: 'tok', origin: 'login' };
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(warnings.join('\n')).toMatch(/setup failed; undoing its changes/);
    expect(readFileSync(home('.gemini/.env'), 'utf8')).toBe(ENV_TEXT);
    expect(lstatSync(home('.gemini/.env')).mode & 0o777).toBe(0o644);
    expect(readFileSync(home('.gemini/settings.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(journal())).toBe(false);
    expect(existsSync(home('.local/share/gatepass/tool-backups.json'))).toBe(false);
    expect(existsSync(t.configFile)).toBe(false);
    expect(await store.get(LOCAL_PROXY_KEY_NAME)).toBeUndefined();
  });

  it('after a crash, a file the user edited meanwhile keeps the edit; gatepass keys and the old key come back', async () => {
    const env = { ...t.env, PATH: '/usr/bin:/bin', GATEPASS_SECRET_STORE: 'file' };
    const args = ['setup', '--gateway-url', 'https://llm.example.com', '--issuer', 'https://sso.example.com'];
    args.push('--client-id', 'gp', '--tools', 'gemini', '--lazy');
    // Find the first crash point at which .env already holds gatepass' settings (the journal is there).
    let point = 0;
    for (let n = 1; n < 40 && !point; n++) {
      const r = await runGatepass(args, { env: { ...env, GATEPASS_TEST_CRASH_AFTER_STEP: String(n) } });
      expect(r.signal, `step ${n} was past the end of setup`).toBe('SIGKILL');
      rmSync(home('.local/share/gatepass/tool-wiring.lock'), { recursive: true, force: true });
      if (readFileSync(home('.gemini/.env'), 'utf8').includes('GOOGLE_GEMINI_BASE_URL')) point = n;
      else expect((await runGatepass(['teardown'], { env })).code).toBe(0);
    }
    expect(point).toBeGreaterThan(0);
    expect(existsSync(journal())).toBe(true);
    writeFileSync(home('.gemini/.env'), `${readFileSync(home('.gemini/.env'), 'utf8')}USER_ADDED=1\n`);

    const td = await runGatepass(['teardown'], { env });
    expect(td.code, td.stderr).toBe(0);
    expect(td.stderr).toMatch(/did not finish .*putting back what it changed/);
    expect(readFileSync(home('.gemini/.env'), 'utf8')).toBe(`${ENV_TEXT}USER_ADDED=1\n`);
    expect(existsSync(journal())).toBe(false);
  }, 300_000);

  it('a teardown killed while writing a tool file: the next teardown removes its temp file and finishes', async () => {
    const env = { ...t.env, PATH: '/usr/bin:/bin', GATEPASS_SECRET_STORE: 'file' };
    writeFileSync(home('.gemini/settings.json'), '{ "theme": "dark" }\n');
    const args = ['setup', '--gateway-url', 'https://llm.example.com', '--issuer', 'https://sso.example.com'];
    const s = await runGatepass([...args, '--client-id', 'gp', '--tools', 'gemini', '--lazy'], { env });
    expect(s.code, s.stderr).toBe(0);
    // Step 1 of teardown: the first tool file's temp file is written and synced, not renamed yet.
    const killed = await runGatepass(['teardown'], { env: { ...env, GATEPASS_TEST_CRASH_AFTER_STEP: '1' } });
    expect(killed.signal).toBe('SIGKILL');
    const temps = () => readdirSync(home('.gemini')).filter((n) => n.endsWith('.tmp'));
    expect(temps()).toHaveLength(1);
    rmSync(home('.local/share/gatepass/tool-wiring.lock'), { recursive: true, force: true });
    const td = await runGatepass(['teardown'], { env });
    expect(td.code, td.stderr).toBe(0);
    expect(temps()).toEqual([]);
    expect(readFileSync(home('.gemini/.env'), 'utf8')).toBe(ENV_TEXT);
    expect(readFileSync(home('.gemini/settings.json'), 'utf8')).toBe('{ "theme": "dark" }\n');
  });

  it('a damaged journal is refused by setup and teardown, naming it, and left as it is', async () => {
    mkdirSync(path.dirname(journal()), { recursive: true });
    writeFileSync(journal(), '{"v":1,"files":');
    const env = { ...t.env, PATH: '/usr/bin:/bin', GATEPASS_SECRET_STORE: 'file' };
    for (const args of [['teardown'], ['setup', '--tools', 'gemini', '--lazy']]) {
      const r = await runGatepass(args, { env });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${journal()} is malformed`);
    }
    expect(readFileSync(journal(), 'utf8')).toBe('{"v":1,"files":');
    expect(readFileSync(home('.gemini/.env'), 'utf8')).toBe(ENV_TEXT);
  });
});
