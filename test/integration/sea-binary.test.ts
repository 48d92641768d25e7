/**
 * The single executable (`npm run build:sea`, dist/sea/gatepass-linux-x64) on a machine without
 * Node: every run goes through `env -i` with a PATH holding no `node`. It must serve the token fast
 * path and the full CLI, read and write the OS keychain (a real gnome-keyring) through the addon
 * shipped beside it, wire tools to ITSELF (not `$PWD/gatepass`, the name as typed), write nothing in
 * `setup --dry-run`, and start and stop the background proxy. Built here when missing or older than
 * its sources (a few tens of seconds).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { resolvePaths } from '../../src/config/paths.js';
import { processAlive } from '../../src/proxy/state.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, ROOT, type RunResult, runNode, runProcess, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { keyringAvailable, startTestKeyring } from '../helpers/keyring.js';
import { freePort } from '../helpers/ports.js';
import { startTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const BUILT = path.join(ROOT, 'dist/sea', `gatepass-${process.platform}-${process.arch}`);
/** The binary and its addon, copied away from the repository (no node_modules to fall back on). */
let BINARY: string;
const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';
const AT_KEY = `${oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass' })}_AT`;
const VERSION = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
const farFuture = () => Math.floor(Date.now() / 1000) + 3600;

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((e) => newestMtime(path.join(p, e))));
}

/** `npm run build:sea`, unless the binary is newer than everything it is made of. */
function ensureBinary(): void {
  const inputs = ['src', 'scripts/build-sea.mjs', 'scripts/fast-path-plugin.mjs', 'package-lock.json'];
  const built = existsSync(BUILT) ? statSync(BUILT).mtimeMs : 0;
  if (built > Math.max(...inputs.map((i) => newestMtime(path.join(ROOT, i))))) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-sea.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 280_000,
  });
  expect(r.status, r.stderr).toBe(0);
}

/** A PATH without node: /usr/bin:/bin when they hold none, else a directory with a few tools only. */
let PATH: string;
let toolDir: string;
function nodelessPath(): string {
  toolDir = realpathSync(mkdtempSync(path.join(tmpdir(), 'gatepass-sea-bin-')));
  const system = ['/usr/bin', '/bin'];
  if (!system.some((d) => existsSync(path.join(d, 'node')))) return system.join(':');
  for (const tool of ['sh', 'env', 'cat', 'true']) {
    const src = system.map((d) => path.join(d, tool)).find((p) => existsSync(p));
    if (src) symlinkSync(src, path.join(toolDir, tool));
  }
  return toolDir;
}

beforeAll(() => {
  ensureBinary();
  PATH = nodelessPath();
  const installDir = path.join(toolDir, 'opt');
  mkdirSync(installDir);
  for (const f of readdirSync(path.dirname(BUILT))) {
    copyFileSync(path.join(path.dirname(BUILT), f), path.join(installDir, f), constants.COPYFILE_FICLONE);
  }
  BINARY = path.join(installDir, path.basename(BUILT));
  chmodSync(BINARY, 0o755);
  for (const dir of PATH.split(':')) expect(existsSync(path.join(dir, 'node')), dir).toBe(false);
}, 300_000);
afterAll(() => {
  if (toolDir) rmSync(toolDir, { recursive: true, force: true });
});

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

/** The environment `env -i` leaves: HOME, the node-less PATH, and `extra`. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  // example.com hosts stand for a real gateway here: setup may wire them (as makeTempHome allows).
  return { HOME: t.home, PATH, GATEPASS_INTERACTIVE: '0', GATEPASS_ALLOW_PLACEHOLDER_HOSTS: '1', ...extra };
}

/** Run `env -i VAR=… <program> args…`: nothing of this (node) process' environment leaks in. */
function sea(
  args: string[],
  extra: Record<string, string> = {},
  options: { cwd?: string; program?: string } = {},
): Promise<RunResult> {
  const vars = Object.entries(cleanEnv(extra)).map(([k, v]) => `${k}=${v}`);
  return runProcess('/usr/bin/env', ['-i', ...vars, options.program ?? BINARY, ...args], {
    cwd: options.cwd ?? t.home,
    timeoutMs: 60_000,
  });
}

async function ok(r: Promise<RunResult>): Promise<RunResult> {
  const res = await r;
  expect(res.code, res.stderr).toBe(0);
  return res;
}

const configureOidc = (extra: Record<string, string> = {}) =>
  ok(sea(['config', 'set', '--gateway-url', GATEWAY, '--issuer', ISSUER, '--client-id', 'gatepass'], extra));

function cacheInFileStore(token: string): void {
  const dir = path.join(resolvePaths({ env: { HOME: t.home } }).stateDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, AT_KEY), JSON.stringify({ access_token: token, expires_at: farFuture() }), {
    mode: 0o600,
  });
}

const FILE = { GATEPASS_SECRET_STORE: 'file' };

describe('the single executable, with no Node on PATH', () => {
  it('--version, --help; the fast path and the full CLI start from their code caches', async () => {
    expect((await ok(sea(['--version']))).stdout).toBe(`${VERSION}\n`);
    const help = await ok(sea(['--help']));
    expect(help.stdout).toMatch(/^Usage: gatepass /);
    expect(help.stdout).toContain('proxy');
    const verbose = await ok(sea(['--version'], { GATEPASS_VERBOSE: '1' }));
    expect(verbose.stderr).not.toMatch(/code cache was rejected/);
    const bad = await sea(['frobnicate']);
    expect(bad.code).toBe(2);
  });

  it('a cached token from the file store: fast path, full path, every format, exec and env', async () => {
    await configureOidc(FILE);
    cacheInFileStore('tok-sea.1');
    expect((await ok(sea(['token'], FILE))).stdout).toBe('tok-sea.1\n');
    const full = await ok(sea(['token'], { ...FILE, GATEPASS_TOKEN_FAST_PATH: '0' }));
    expect(full.stdout).toBe('tok-sea.1\n');
    expect(JSON.parse((await ok(sea(['token', '--format', 'json'], FILE))).stdout).token).toBe('tok-sea.1');
    // exec: the child gets the token, and there really is no node to be found.
    const exec = await ok(
      sea(
        ['exec', '--', 'sh', '-c', 'test "$GATEPASS_TOKEN" = tok-sea.1 && ! command -v node && echo ok'],
        FILE,
      ),
    );
    expect(exec.stdout).toBe('ok\n');
    expect((await ok(sea(['env', '--format', 'dotenv'], FILE))).stdout).toContain('tok-sea.1');
    const status = JSON.parse((await ok(sea(['status', '--json'], FILE))).stdout);
    expect(status.providers[0]).toMatchObject({ name: 'default', type: 'oidc' });
    expect((await ok(sea(['config', 'show'], FILE))).stdout).toContain(GATEWAY);
    await ok(sea(['logout', '--no-revoke'], FILE));
    expect((await sea(['token'], FILE)).code).toBe(1);
  });

  it('a cached token (file store, default store) loads no module it does not need', async () => {
    await configureOidc(FILE);
    cacheInFileStore('tok-sea.1');
    const paths = resolvePaths({ env: { HOME: t.home } });
    const cache = path.join(paths.cacheDir, 'access-tokens');
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    copyFileSync(path.join(paths.stateDir, 'secrets', AT_KEY), path.join(cache, AT_KEY));
    // The SEA honours NODE_OPTIONS: a preload prints, at exit, the built-in modules the run loaded.
    const preload = path.join(t.home, 'modules.cjs');
    writeFileSync(
      preload,
      "process.on('exit', () => require('fs').writeSync(2, '\\n' + JSON.stringify(process.moduleLoadList)));",
    );
    const trace = { NODE_OPTIONS: `-r ${preload}` };
    const noKeychain = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(t.home, 'no-bus')}` };
    for (const extra of [FILE, noKeychain]) {
      const r = await ok(sea(['token'], { ...extra, ...trace }));
      expect(r.stdout).toBe('tok-sea.1\n');
      const loaded = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as string[];
      expect(loaded).toContain('NativeModule fs'); // the list is the real one
      // node:child_process (with net, dgram) serves the Windows registry query only; fs.promises
      // pulls in Node's streams; node:crypto costs ≈ 5 ms; no ES module loader in a CommonJS main.
      for (const mod of [
        'NativeModule child_process',
        'NativeModule internal/fs/promises',
        'NativeModule stream',
        'NativeModule crypto',
        'NativeModule internal/modules/esm/loader',
      ]) {
        expect(loaded, mod).not.toContain(mod);
      }
    }
  });

  it('setup wires tools to the binary itself, even run as `gatepass` from PATH; --dry-run writes nothing', async () => {
    // Typed as `gatepass` (a symlink on PATH) from some other directory: argv[1] is just "gatepass".
    const link = path.join(t.home, 'bin/gatepass');
    mkdirSync(path.dirname(link));
    symlinkSync(BINARY, link);
    const cwd = path.join(t.home, 'project');
    mkdirSync(cwd);
    mkdirSync(path.join(t.home, '.claude'));
    await configureOidc(FILE);
    const run = (args: string[]) =>
      sea(args, { ...FILE, PATH: `${path.dirname(link)}:${PATH}` }, { cwd, program: 'gatepass' });
    const flags = ['--tools', 'claude'];
    const tree = () => readdirSync(t.home, { recursive: true }).map(String).sort();
    const before = tree();
    const dry = await ok(run(['setup', ...flags, '--dry-run']));
    // Tools run gatepass' launcher (rewritten by every setup), pinned to this config and provider;
    // after the real setup below, the launcher starts the binary itself.
    const launcher = path.join(t.home, '.local/share/gatepass/bin/gatepass');
    expect(dry.stdout).toMatch(
      new RegExp(`"apiKeyHelper": "${launcher} --config \\S+ --provider default token --min-valid 600"`),
    );
    expect(dry.stdout).not.toContain(path.join(cwd, 'gatepass'));
    expect(tree()).toEqual(before); // nothing extracted or cached anywhere under HOME

    await ok(run(['setup', ...flags, '--lazy']));
    const helper = JSON.parse(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8')).apiKeyHelper;
    const first = String(helper).split(' ')[0]!;
    const wiring = first === BINARY ? helper : `${helper}\n${readFileSync(first, 'utf8')}`; // or a launcher
    expect(wiring).toContain(BINARY);
    cacheInFileStore('tok-sea.helper');
    // As Claude Code runs it: a shell command line, in the same node-less environment.
    const vars = Object.entries(cleanEnv(FILE)).map(([k, v]) => `${k}=${v}`);
    const viaTool = await runProcess('/usr/bin/env', ['-i', ...vars, 'sh', '-c', helper], { cwd: tmpdir() });
    expect(viaTool.code, viaTool.stderr).toBe(0);
    expect(viaTool.stdout).toBe('tok-sea.helper\n');
    await ok(run(['teardown']));
    expect(existsSync(path.join(t.home, '.claude/settings.json'))).toBe(false);
  });

  it.runIf(keyringAvailable())(
    'the OS keychain (real gnome-keyring): read on both paths, delete on logout',
    async () => {
      const kr = await startTestKeyring();
      try {
        const env = { ...kr.env, GATEPASS_SECRET_STORE: 'keychain' };
        await configureOidc(FILE);
        const record = JSON.stringify({ access_token: 'tok-sea.keychain', expires_at: farFuture() });
        const script = `new (require('@napi-rs/keyring').Entry)('gatepass', process.argv[1], { linux: { store: 'secret-service' } }).setPassword(process.argv[2])`;
        const w = await runNode(['-e', script, AT_KEY, record], { env: { ...process.env, ...kr.env } });
        expect(w.code, w.stderr).toBe(0);
        expect((await ok(sea(['token'], env))).stdout).toBe('tok-sea.keychain\n');
        expect((await ok(sea(['token'], { ...env, GATEPASS_TOKEN_FAST_PATH: '0' }))).stdout).toBe(
          'tok-sea.keychain\n',
        );
        // An addon others could have swapped is never loaded.
        const addon = path.join(path.dirname(BINARY), 'gatepass-keyring.node');
        chmodSync(addon, 0o666);
        const loose = await sea(['token'], env);
        chmodSync(addon, 0o644);
        expect(loose.code).toBe(1);
        expect(loose.stdout).toBe('');
        await ok(sea(['logout', '--no-revoke'], env));
        const r = await runNode(
          [
            '-e',
            `const v = new (require('@napi-rs/keyring').Entry)('gatepass', process.argv[1], { linux: { store: 'secret-service' } }).getPassword(); process.stdout.write(String(v))`,
            AT_KEY,
          ],
          { env: { ...process.env, ...kr.env } },
        );
        expect(r.stdout).not.toContain('tok-sea.keychain');
        // Loaded from beside the binary: nothing was extracted into the HOME.
        expect(existsSync(path.join(t.home, '.cache'))).toBe(false);
      } finally {
        await kr.close();
      }
    },
  );
});

describe('the single executable runs the background proxy', () => {
  let issuer: TestIssuer;
  let gw: FakeGateway;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl });
  });
  afterAll(async () => {
    await gw?.close();
    await issuer?.close();
  });

  it('proxy start --background (the binary starts itself), a request through it, proxy stop', async () => {
    const key = generateLocalProxyKey();
    const env = {
      GATEPASS_SECRET_STORE: 'env',
      GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: key,
      GP_TEST_TOKEN: await issuer.sign({ sub: 'sea' }),
    };
    mkdirSync(path.dirname(t.configFile), { recursive: true });
    writeFileSync(
      t.configFile,
      `version: 1\ndefault_provider: default\nproviders:\n  default:\n    type: command\n    gateway_url: ${gw.url}\n    auth:\n      env_var: GP_TEST_TOKEN\n`,
    );
    const port = await freePort();
    try {
      const start = await ok(sea(['proxy', 'start', '--background', '--port', String(port)], env));
      expect(start.stdout).toBe(`http://127.0.0.1:${port}\n`);
      const status = JSON.parse((await ok(sea(['proxy', 'status', '--json'], env))).stdout);
      expect(status).toMatchObject({ running: true, port });
      expect(readlinkSync(`/proc/${status.pid}/exe`)).toBe(BINARY);
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'sea' }] }),
      });
      expect(res.status).toBe(200);
      expect(gw.requests.at(-1)!.subject).toBe('sea');
      const stop = await ok(sea(['proxy', 'stop'], env));
      expect(stop.stderr).toMatch(/stopped/);
      expect(processAlive(status.pid)).toBe(false);
    } finally {
      await sea(['proxy', 'stop'], env);
    }
  });
});
