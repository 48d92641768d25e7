/**
 * The `gatepass token` fast path (src/cli/fast-token.ts, bundled into dist/cli.js) against the full
 * CLI path (GATEPASS_TOKEN_FAST_PATH=0): same stdout bytes, stderr and exit code in every case, and
 * the fast path really serving the cache hits (checked in-process) while handing everything else
 * over. Real built CLI, real files in a temp HOME.
 */
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { fastToken, parseFastTokenArgs } from '../../src/cli/fast-token.js';
import { resolvePaths } from '../../src/config/paths.js';
import { readFreshSnapshot, snapshotFileFor } from '../../src/config/snapshot.js';
import { envSecretName } from '../../src/secrets/env.js';
import { CLI, makeTempHome, type RunResult, runGatepass, runNode, type TempHome } from '../helpers/cli.js';

const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';
const AT_KEY = `${oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass' })}_AT`;

let t: TempHome;

beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', GATEPASS_INTERACTIVE: '0' });
});
afterEach(() => t.cleanup());

const secretsDir = () => path.join(resolvePaths({ env: t.env }).stateDir, 'secrets');

function cacheAccessToken(token: string, expiresAtS: number | undefined): void {
  mkdirSync(secretsDir(), { recursive: true, mode: 0o700 });
  const rec =
    expiresAtS === undefined ? { access_token: token } : { access_token: token, expires_at: expiresAtS };
  writeFileSync(path.join(secretsDir(), AT_KEY), JSON.stringify(rec), { mode: 0o600 });
}

async function configure(...args: string[]): Promise<void> {
  const r = await runGatepass(['config', 'set', ...args], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
}

const configureOidc = () =>
  configure('--gateway-url', GATEWAY, '--issuer', ISSUER, '--client-id', 'gatepass');

/** Run through dist/cli.js both ways; they must agree. Returns the (common) result. */
async function both(args: string[], env: NodeJS.ProcessEnv = t.env): Promise<RunResult> {
  const fast = await runGatepass(args, { env });
  const full = await runGatepass(args, { env: { ...env, GATEPASS_TOKEN_FAST_PATH: '0' } });
  expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({
    code: full.code,
    stdout: full.stdout,
    stderr: full.stderr,
  });
  return fast;
}

const served = (args: string[], env: NodeJS.ProcessEnv = t.env) => fastToken(args, env);

describe('argv the fast path accepts', () => {
  it('takes plain token invocations and leaves everything else to commander', () => {
    expect(parseFastTokenArgs(['token'])).toEqual({ format: 'token' });
    expect(parseFastTokenArgs(['--provider', 'corp', 'token', '--format=json', '-q'])).toEqual({
      format: 'json',
      provider: 'corp',
      quiet: true,
    });
    expect(
      parseFastTokenArgs(['token', '-p', 'a', '--format', 'json', '--format', 'exec-credential']),
    ).toEqual({ format: 'exec-credential', provider: 'a' });
    expect(parseFastTokenArgs(['token', '--min-valid', '600', '--config=/x.yaml'])).toEqual({
      format: 'token',
      minValid: '600',
      config: '/x.yaml',
    });
    for (const argv of [
      [],
      ['status'],
      ['token', '--help'],
      ['token', '-v'],
      ['token', 'extra'],
      ['token', '--format', 'yaml'],
      ['token', '--format'],
      ['token', '--provider', ''],
      ['token', '-p', '--format'],
      ['--format', 'json', 'token'], // a command option before the command: commander's error
      ['token', '--unknown'],
      ['token', 'token'],
      ['-pcorp', 'token'],
    ]) {
      expect(parseFastTokenArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('fast path = full path', () => {
  it('serves a cached OIDC token in every format, the same bytes as the full CLI', async () => {
    await configureOidc();
    const exp = Math.floor(Date.now() / 1000) + 3600;
    cacheAccessToken('tok-cached.123', exp);
    for (const args of [
      ['token'],
      ['token', '--format', 'json'],
      ['token', '--format=exec-credential'],
      ['--provider', 'default', 'token', '-q', '--min-valid', '120'],
      ['token', '--interactive', '--skip-browser'],
    ]) {
      const out = await served(args);
      expect(out, args.join(' ')).toBeDefined();
      const r = await both(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(out!.stdout);
      expect(r.stderr).toBe('');
    }
    expect((await both(['token'])).stdout).toBe('tok-cached.123\n');
    expect(JSON.parse((await both(['token', '--format', 'json'])).stdout)).toEqual({
      token: 'tok-cached.123',
      expires_at: exp,
    });
  });

  it('a token without expiry, and the env secret store', async () => {
    await configureOidc();
    cacheAccessToken('tok-forever', undefined);
    expect((await served(['token', '--format', 'json']))?.stdout).toBe(
      '{"token":"tok-forever","expires_at":null}\n',
    );
    await both(['token', '--format', 'exec-credential']);
    const env = {
      ...t.env,
      GATEPASS_SECRET_STORE: 'env',
      [envSecretName(AT_KEY)]: JSON.stringify({ access_token: 'tok-env', expires_at: 4102444800 }),
    };
    expect((await served(['token'], env))?.stdout).toBe('tok-env\n');
    expect((await both(['token'], env)).stdout).toBe('tok-env\n');
    // The variable named exactly after the key (lower-case hex, as token_ref shows it) works too.
    const exact = {
      ...t.env,
      GATEPASS_SECRET_STORE: 'env',
      [`GATEPASS_SECRET_${AT_KEY}`]: JSON.stringify({ access_token: 'tok-exact', expires_at: 4102444800 }),
    };
    expect(AT_KEY).toMatch(/[a-f]/);
    expect((await served(['token'], exact))?.stdout).toBe('tok-exact\n');
    expect((await both(['token'], exact)).stdout).toBe('tok-exact\n');
  });

  it('hands over an expired token, no token, too short a validity, or an unknown provider', async () => {
    await configureOidc();
    expect(await served(['token'])).toBeUndefined();
    let r = await both(['token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/authentication required/);
    cacheAccessToken('tok-old', Math.floor(Date.now() / 1000) - 10);
    expect(await served(['token'])).toBeUndefined();
    r = await both(['token', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    cacheAccessToken('tok-short', Math.floor(Date.now() / 1000) + 100);
    expect(await served(['token', '--min-valid', '600'])).toBeUndefined();
    expect((await both(['token', '--min-valid', '600'])).code).toBe(1);
    expect((await both(['token'])).stdout).toBe('tok-short\n');
    expect(await served(['token', '-p', 'nope'])).toBeUndefined();
    r = await both(['token', '-p', 'nope']);
    expect(r.stderr).toMatch(/no provider named "nope"/);
    // Usage errors stay commander's / the command's.
    expect((await both(['token', '--format', 'yaml'])).code).toBe(2);
    expect((await both(['token', '--min-valid', 'soon'])).code).toBe(2);
    expect((await both(['token', 'extra'])).code).toBe(2);
  });

  it('command providers: cache file hit, env_var, and a bad env_var value', async () => {
    await configure(
      '--provider',
      'corp',
      '--type',
      'command',
      '--gateway-url',
      GATEWAY,
      '--env-var',
      'CORP_TOKEN',
    );
    // env_var wins.
    const env = { ...t.env, CORP_TOKEN: 'tok-from-env' };
    expect((await served(['token', '-p', 'corp'], env))?.stdout).toBe('tok-from-env\n');
    expect((await both(['token', '-p', 'corp', '--format', 'json'], env)).code).toBe(0);
    const bad = { ...t.env, CORP_TOKEN: 'two words' };
    expect(await served(['token', '-p', 'corp'], bad)).toBeUndefined();
    expect((await both(['token', '-p', 'corp'], bad)).code).toBe(1);
    // A cache file written earlier (by a token_command).
    const cacheFile = path.join(resolvePaths({ env: t.env }).cacheDir, 'tokens', 'corp.json');
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    const exp = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      cacheFile,
      JSON.stringify({ token: 'tok-from-cache', expires_at: exp, metadata: { obtained_at: exp - 3600 } }),
      { mode: 0o600 },
    );
    expect((await served(['token', '-p', 'corp']))?.stdout).toBe('tok-from-cache\n');
    expect((await both(['token', '-p', 'corp', '--format', 'exec-credential'])).code).toBe(0);
    writeFileSync(cacheFile, '{not json', { mode: 0o600 });
    expect(await served(['token', '-p', 'corp'])).toBeUndefined();
    expect((await both(['token', '-p', 'corp'])).code).toBe(1);
  });

  it('a malformed config, a missing config, and verbose runs take the full path', async () => {
    expect(await served(['token'])).toBeUndefined();
    expect((await both(['token'])).code).toBe(1);
    await configureOidc();
    cacheAccessToken('tok-cached.123', Math.floor(Date.now() / 1000) + 3600);
    expect(await served(['token'], { ...t.env, GATEPASS_VERBOSE: '1' })).toBeUndefined();
    writeFileSync(t.configFile, 'providers: [oops\n');
    expect(await served(['token'])).toBeUndefined();
    const r = await both(['token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid YAML/);
  });
});

describe('what a cache hit loads', () => {
  /** The built-in modules a run loaded (a preload prints process.moduleLoadList at exit). */
  async function modulesLoaded(argv: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
    const preload = path.join(t.home, 'modules.cjs');
    writeFileSync(
      preload,
      // fs.writeSync, not process.stderr: creating the stream object would load Node's streams itself.
      "process.on('exit', () => require('fs').writeSync(2, '\\n' + JSON.stringify(process.moduleLoadList)));",
    );
    const r = await runNode(['-r', preload, ...argv], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('tok-cached.123\n');
    const loaded = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as string[];
    expect(loaded).toContain('NativeModule fs'); // the list is the real one
    return loaded;
  }

  // Each costs a cache hit measurable CPU (bench/README.md): node:crypto ≈ 5 ms, Node's ES module
  // loader ≈ 5 ms (dist/cli.cjs is CommonJS for that), node:child_process (with net and dgram, for the
  // Windows registry query only) ≈ 4 ms, fs.promises with Node's streams ≈ 1–2 ms; https and undici far more.
  const NOT_ON_A_CACHE_HIT = [
    'NativeModule crypto',
    'NativeModule https',
    'NativeModule internal/deps/undici/undici',
    'NativeModule internal/modules/esm/loader',
    'NativeModule child_process',
    'NativeModule internal/fs/promises',
    'NativeModule stream',
  ];

  it('the bin (dist/cli.cjs), file store and default store: no ES module loader, crypto, child_process, fs.promises, https or undici', async () => {
    await configureOidc();
    cacheAccessToken('tok-cached.123', Math.floor(Date.now() / 1000) + 3600);
    // The default store's access-token cache file (src/secrets/token-cache.ts), no keychain at all.
    const cache = path.join(resolvePaths({ env: t.env }).cacheDir, 'access-tokens');
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(cache, AT_KEY), readFileSync(path.join(secretsDir(), AT_KEY)), { mode: 0o600 });
    const noKeychain = {
      ...t.env,
      GATEPASS_SECRET_STORE: '',
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(t.home, 'no-bus')}`,
    };
    expect(CLI.endsWith('dist/cli.cjs')).toBe(true);
    for (const env of [t.env, noKeychain]) {
      const loaded = await modulesLoaded([CLI, 'token'], env);
      for (const mod of NOT_ON_A_CACHE_HIT) expect(loaded, mod).not.toContain(mod);
    }
  });

  it("dist/fast.js runs from the build's code cache; without the cache it still serves", async () => {
    await configureOidc();
    cacheAccessToken('tok-cached.123', Math.floor(Date.now() / 1000) + 3600);
    const dist = path.dirname(CLI);
    // As dist/cli.cjs compiles it, without NODE_OPTIONS (V8 rejects a cache made under other flags).
    const check = await runNode(
      [
        '-e',
        `const { readFileSync } = require('node:fs'); const { Script } = require('node:vm');
         const file = ${JSON.stringify(path.join(dist, 'fast.js'))};
         const s = new Script(readFileSync(file, 'utf8'), { filename: file, cachedData: readFileSync(${JSON.stringify(path.join(dist, 'fast.cache'))}) });
         console.log(s.cachedDataRejected);`,
      ],
      { env: { ...t.env, NODE_OPTIONS: '' } },
    );
    expect(check.stdout).toBe('false\n');
    const copy = path.join(t.home, 'dist');
    mkdirSync(copy);
    for (const f of ['cli.cjs', 'fast.js'])
      writeFileSync(path.join(copy, f), readFileSync(path.join(dist, f)));
    expect((await runNode([path.join(copy, 'cli.cjs'), 'token'], { env: t.env })).stdout).toBe(
      'tok-cached.123\n',
    );
  });

  it('dist/cli.js (older launchers name it) still serves, as dist/cli.cjs', async () => {
    await configureOidc();
    cacheAccessToken('tok-cached.123', Math.floor(Date.now() / 1000) + 3600);
    const shim = path.join(path.dirname(CLI), 'cli.js');
    expect((await runNode([shim, 'token'], { env: t.env })).stdout).toBe('tok-cached.123\n');
    // What setup and `proxy start --background` take for this gatepass' script is dist/cli.cjs.
    const preload = path.join(t.home, 'argv1.cjs');
    writeFileSync(preload, "process.on('exit', () => process.stderr.write('\\nargv1=' + process.argv[1]));");
    for (const env of [t.env, { ...t.env, GATEPASS_TOKEN_FAST_PATH: '0' }]) {
      const r = await runNode(['-r', preload, shim, 'token'], { env });
      expect(r.stdout).toBe('tok-cached.123\n');
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`argv1=${CLI}`);
    }
  });
});

describe('config snapshot', () => {
  it('is written 0600 on config save and invalidated by a hand edit of the YAML', async () => {
    await configureOidc();
    const snapFile = snapshotFileFor(t.configFile);
    expect(statSync(snapFile).mode & 0o777).toBe(0o600);
    expect(readFreshSnapshot(t.configFile)?.usable).toEqual(['default']);
    cacheAccessToken('tok-cached.123', Math.floor(Date.now() / 1000) + 3600);
    expect(await served(['token'])).toBeDefined();

    // Hand edit, same size and mtime: only the hash notices.
    const yaml = readFileSync(t.configFile, 'utf8');
    const st = statSync(t.configFile);
    const edited = yaml.replace('client_id: gatepass', 'client_id: gatepasX');
    expect(edited).not.toBe(yaml);
    writeFileSync(t.configFile, edited);
    utimesSync(t.configFile, st.atime, st.mtime);
    expect(readFreshSnapshot(t.configFile)).toBeUndefined();
    expect(await served(['token'])).toBeUndefined();

    // A hand edit that breaks the provider: the fast path must not serve from the old snapshot.
    writeFileSync(t.configFile, yaml.replace(/ {6}client_id: gatepass\n/, ''));
    expect(await served(['token'])).toBeUndefined();
    const r = await both(['token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing oidc\.client_id/);
    // The full path refreshed the snapshot; the provider is not usable, so still no fast path.
    expect(readFreshSnapshot(t.configFile)?.usable).toEqual([]);
    expect(await served(['token'])).toBeUndefined();

    // Fixed by hand again: the next full run re-snapshots, then the fast path serves.
    writeFileSync(t.configFile, yaml);
    expect(await served(['token'])).toBeUndefined();
    expect((await both(['token'])).stdout).toBe('tok-cached.123\n');
    expect(await served(['token'])).toBeDefined();
    expect(readFileSync(snapFile, 'utf8')).not.toMatch(/tok-cached/);
  });
});

describe('default secret store', () => {
  it('keychain unavailable: the first run (full path) warns once, then the fast path reads the file store', async () => {
    await configureOidc();
    cacheAccessToken('tok-file.123', Math.floor(Date.now() / 1000) + 3600);
    const env = {
      ...t.env,
      GATEPASS_SECRET_STORE: '',
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(t.home, 'no-bus')}`,
    };
    const saved = process.env['DBUS_SESSION_BUS_ADDRESS'];
    process.env['DBUS_SESSION_BUS_ADDRESS'] = env.DBUS_SESSION_BUS_ADDRESS;
    try {
      // No fallback marker yet: the notice is the full path's business.
      expect(await served(['token'], env)).toBeUndefined();
      const first = await runGatepass(['token'], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe('tok-file.123\n');
      expect(first.stderr).toMatch(/no OS keychain is available/);
      expect((await served(['token'], env))?.stdout).toBe('tok-file.123\n');
      const r = await both(['token', '--format', 'json'], env);
      expect(r.stderr).toBe('');
    } finally {
      if (saved === undefined) delete process.env['DBUS_SESSION_BUS_ADDRESS'];
      else process.env['DBUS_SESSION_BUS_ADDRESS'] = saved;
    }
  });
});
