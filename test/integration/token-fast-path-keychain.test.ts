/**
 * The `gatepass token` fast path reading the OS keychain (a real Secret Service: gnome-keyring in a
 * private dbus-run-session). Its own file, so its process has never seen a broken D-Bus address: the
 * native keyring addon keeps its connection state per process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { fastToken } from '../../src/cli/fast-token.js';
import { CHUNK_INDEX_PREFIX } from '../../src/secrets/chunked.js';
import { createKeychainStore } from '../../src/secrets/keychain.js';
import { makeTempHome, runGatepass, runNode, type TempHome } from '../helpers/cli.js';
import { keyringAvailable, startTestKeyring, type TestKeyring } from '../helpers/keyring.js';

const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';
const AT_KEY = `${oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass' })}_AT`;

let t: TempHome;
beforeEach(() => {
  t = makeTempHome({ GATEPASS_INTERACTIVE: '0' });
});
afterEach(() => t.cleanup());

const served = (args: string[], env: NodeJS.ProcessEnv) => fastToken(args, env);

async function both(args: string[], env: NodeJS.ProcessEnv) {
  const fast = await runGatepass(args, { env });
  const full = await runGatepass(args, { env: { ...env, GATEPASS_TOKEN_FAST_PATH: '0' } });
  expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({
    code: full.code,
    stdout: full.stdout,
    stderr: full.stderr,
  });
  return fast;
}

describe.runIf(keyringAvailable())('token fast path and the OS keychain', () => {
  // One Secret Service for the file: the addon in this process keeps its first D-Bus connection.
  let kr: TestKeyring;
  const saved = process.env['DBUS_SESSION_BUS_ADDRESS'];
  beforeAll(async () => {
    kr = await startTestKeyring();
    process.env['DBUS_SESSION_BUS_ADDRESS'] = kr.env.DBUS_SESSION_BUS_ADDRESS;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env['DBUS_SESSION_BUS_ADDRESS'];
    else process.env['DBUS_SESSION_BUS_ADDRESS'] = saved;
    await kr?.close();
  });

  it.runIf(keyringAvailable())('a real Secret Service: the fast path reads the keychain', async () => {
    const set = await runGatepass(
      ['config', 'set', '--gateway-url', GATEWAY, '--issuer', ISSUER, '--client-id', 'gatepass'],
      { env: { ...t.env, GATEPASS_SECRET_STORE: 'file' } },
    );
    expect(set.code, set.stderr).toBe(0);
    const env = { ...t.env, ...kr.env, GATEPASS_SECRET_STORE: '' };
    const record = JSON.stringify({ access_token: 'tok-keychain.1', expires_at: 4102444800 });
    const w = await runNode(
      [
        '-e',
        `new (require('@napi-rs/keyring').Entry)('gatepass', ${JSON.stringify(AT_KEY)}, { linux: { store: 'secret-service' } }).setPassword(${JSON.stringify(record)})`,
      ],
      { env: { ...process.env, ...kr.env } },
    );
    expect(w.code, w.stderr).toBe(0);
    expect((await served(['token'], env))?.stdout).toBe('tok-keychain.1\n');
    expect(await served(['token'], { ...env, GATEPASS_SECRET_STORE: 'keychain' })).toBeDefined();
    expect((await both(['token'], env)).stdout).toBe('tok-keychain.1\n');
    expect((await both(['token', '--format', 'exec-credential'], env)).code).toBe(0);
  });

  it.runIf(keyringAvailable())('reads a token stored in chunks (Windows-sized entries)', async () => {
    const set = await runGatepass(
      ['config', 'set', '--gateway-url', GATEWAY, '--issuer', ISSUER, '--client-id', 'gatepass'],
      { env: { ...t.env, GATEPASS_SECRET_STORE: 'file' } },
    );
    expect(set.code, set.stderr).toBe(0);
    // A large token, written by gatepass's keychain store with a 200-unit entry limit.
    const token = `eyJ${'x'.repeat(3000)}.long`;
    const store = await createKeychainStore(undefined, {
      env: { GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE: '200' },
    });
    await store.set(AT_KEY, JSON.stringify({ access_token: token, expires_at: 4102444800 }));
    const index = kr.read(AT_KEY)!;
    expect(index.startsWith(CHUNK_INDEX_PREFIX)).toBe(true);
    const [gen, count] = index.slice(CHUNK_INDEX_PREFIX.length).split(':');
    expect(Number(count)).toBeGreaterThan(10);
    expect(kr.read(`${AT_KEY}.chunk.${gen}.0`)).toHaveLength(200);
    // Readers need no hook: the fast path and the full path both assemble the chunks.
    const env = { ...t.env, ...kr.env, GATEPASS_SECRET_STORE: '' };
    expect((await served(['token'], env))?.stdout).toBe(`${token}\n`);
    expect((await both(['token'], env)).stdout).toBe(`${token}\n`);
    // The full path moved it into the default store's access-token cache file: the index and every
    // chunk left the keychain.
    expect(kr.read(AT_KEY)).toBeUndefined();
    expect(kr.read(`${AT_KEY}.chunk.${gen}.0`)).toBeUndefined();
  });
});
