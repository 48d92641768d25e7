/**
 * The lean `gatepass proxy start` entry (src/cli/fast-proxy*.ts, dist/proxy.cjs): the proxy that
 * stays running loads neither the YAML parser nor commander — checked with a trace of every module
 * the process loads (CommonJS and ES modules), against the full CLI as a control — and it serves the
 * config the YAML says: a hand-written, edited or malformed YAML, another file given with --config,
 * a managed config that appeared, a logged-out provider, each compared with the full CLI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Option } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { parseLeanProxyArgs } from '../../src/cli/fast-proxy-plan.js';
import { buildProgram } from '../../src/cli/program.js';
import { snapshotFileFor } from '../../src/config/snapshot.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { CLI, makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';

const KEY = generateLocalProxyKey();
const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const tokenCommand = (token: string) => [process.execPath, FAKE, 'bare', token].map(shellQuote).join(' ');
/** Strings only the bundled `yaml` package and commander contain (their own error names / codes). */
const YAML_MARK = 'YAMLParseError';
const COMMANDER_MARK = 'commander.unknownOption';

let gwA: FakeGateway;
let gwB: FakeGateway;
let t: TempHome;
let traceDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  gwA = await startFakeGateway();
  gwB = await startFakeGateway();
  // A module-load trace: CommonJS loads (Module._load) and ES module loads (a loader hook, which
  // runs on its own thread and appends to the same file).
  traceDir = mkdtempSync(path.join(tmpdir(), 'gatepass-trace-'));
  writeFileSync(
    path.join(traceDir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.GP_TRACE_FILE, 'esm ' + url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    path.join(traceDir, 'trace.cjs'),
    `const fs = require('node:fs');
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const out = load.apply(this, arguments);
  try {
    fs.appendFileSync(process.env.GP_TRACE_FILE, 'cjs ' + Module._resolveFilename(request, parent, isMain) + '\\n');
  } catch {}
  return out;
};
Module.register(${JSON.stringify(pathToFileURL(path.join(traceDir, 'hooks.mjs')).href)});
`,
  );
});
afterAll(async () => {
  await gwA.close();
  await gwB.close();
  rmSync(traceDir, { recursive: true, force: true });
});

let port = 0;
beforeEach(async () => {
  port = await freePort();
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'env', GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY });
  await mkdir(path.dirname(t.configFile), { recursive: true, mode: 0o700 });
  writeConfig(t.configFile, gwA, 'tok-A');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  t.cleanup();
});

function configText(gw: FakeGateway, token: string, extra = ''): string {
  return `version: 1
default_provider: default
providers:
  default:
    type: command
    gateway_url: ${gw.url}
    auth:
      token_command: ${JSON.stringify(tokenCommand(token))}
${extra}`;
}

function writeConfig(file: string, gw: FakeGateway, token: string, extra = ''): void {
  writeFileSync(file, configText(gw, token, extra), { mode: 0o600 });
}

interface Started {
  child: ChildProcess;
  stderr: () => string;
  /** Every file the process loaded so far (paths; built-in modules left out). */
  loaded: () => string[];
}

/** `gatepass <args> proxy start --port <port>` in the foreground, traced; resolves once it listens. */
async function startProxy(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const traceFile = path.join(t.home, `trace-${children.length}.txt`);
  writeFileSync(traceFile, '');
  const child = spawn(
    process.execPath,
    ['-r', path.join(traceDir, 'trace.cjs'), CLI, ...args, 'proxy', 'start', '--port', String(port)],
    { env: { ...t.env, GP_TRACE_FILE: traceFile, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  await expect
    .poll(() => stderr, { timeout: 20_000, interval: 100 })
    .toMatch(/listening on http:\/\/127\.0\.0\.1:|error/);
  expect(stderr).toMatch(/listening on/);
  const loaded = () =>
    readFileSync(traceFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('cjs /') || l.startsWith('esm file:'))
      .map((l) => (l.startsWith('esm ') ? fileURLToPath(l.slice(4)) : l.slice(4)));
  return { child, stderr: () => stderr, loaded };
}

async function stop(s: Started): Promise<number | null> {
  const exited = new Promise<number | null>((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  return exited;
}

/** The loaded files whose code holds `mark`. */
function loadedWith(s: Started, mark: string): string[] {
  return [...new Set(s.loaded())].filter((f) => {
    try {
      return readFileSync(f, 'latin1').includes(mark);
    } catch {
      return false;
    }
  });
}

/** One request through the proxy: the gateway it reached and the token it carried. */
async function ask(): Promise<{ status: number; body: string; gateway?: 'A' | 'B'; token?: string }> {
  const before = { A: gwA.requests.length, B: gwB.requests.length };
  const res = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { 'x-api-key': KEY } });
  const body = await res.text();
  const hitA = gwA.requests.length > before.A;
  const hitB = gwB.requests.length > before.B;
  const gw = hitA ? gwA : hitB ? gwB : undefined;
  return {
    status: res.status,
    body,
    ...(gw ? { gateway: hitA ? 'A' : 'B', token: gw.requests.at(-1)!.subject } : {}),
  };
}

describe('the lean proxy entry: what it loads', () => {
  it('neither the YAML parser nor commander, before and after a request; the full CLI does (control)', async () => {
    const lean = await startProxy();
    expect(lean.loaded().some((f) => f.endsWith(`${path.sep}dist${path.sep}proxy.cjs`))).toBe(true);
    expect(lean.loaded().some((f) => f.endsWith(`${path.sep}dist${path.sep}full.js`))).toBe(false);
    expect(await ask()).toMatchObject({ status: 200, gateway: 'A', token: 'tok-A' });
    // The token command ran (a cache miss checks the logged-out state): still no YAML parser.
    for (const mark of [YAML_MARK, COMMANDER_MARK]) expect(loadedWith(lean, mark), mark).toEqual([]);
    expect(lean.loaded().filter((f) => /node_modules[\\/](yaml|commander)[\\/]/.test(f))).toEqual([]);
    expect(await stop(lean)).toBe(0);

    // The control: the same start through the full CLI loads both, so the trace sees them.
    port = await freePort();
    const full = await startProxy([], { GATEPASS_PROXY_FAST_PATH: '0' });
    expect(loadedWith(full, YAML_MARK).length).toBeGreaterThan(0);
    expect(loadedWith(full, COMMANDER_MARK).length).toBeGreaterThan(0);
    expect(full.loaded().some((f) => f.endsWith(`${path.sep}dist${path.sep}proxy.cjs`))).toBe(false);
    expect(await stop(full)).toBe(0);
  });

  it('takes plain `proxy start` invocations and leaves everything else to commander', () => {
    expect(parseLeanProxyArgs(['proxy', 'start'])).toEqual({ globals: {}, options: {} });
    expect(
      parseLeanProxyArgs([
        '--config',
        '/x.yaml',
        '-p',
        'work',
        'proxy',
        'start',
        '--port=14001',
        '--background',
        '--skip-browser',
        '--ca-file',
        '/ca.pem',
        '--tls-skip-verify',
        '-v',
      ]),
    ).toEqual({
      globals: { config: '/x.yaml', provider: 'work', verbose: true },
      options: { port: '14001', background: true, skipBrowser: true, caFile: '/ca.pem', tlsSkipVerify: true },
    });
    for (const argv of [
      ['proxy'],
      ['proxy', 'stop'],
      ['proxy', 'start', 'extra'],
      ['start', 'proxy'],
      ['proxy', 'start', '--help'],
      ['proxy', 'start', '--port'],
      ['proxy', 'start', '--port='],
      ['proxy', 'start', '--port', '-1'],
      ['proxy', 'start', '-vq'],
      ['-v', '-q', 'proxy', 'start'],
      ['--background', 'proxy', 'start'], // a command option before the command: commander's error
      ['proxy', 'start', '--nosuch'],
    ]) {
      expect(parseLeanProxyArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });

  it('knows every option the command tree gives `proxy start` and the global ones (its table cannot drift from the definitions)', () => {
    const sink = { write: () => true };
    const program = buildProgram({ stdout: sink, stderr: sink } as never, { runner: async () => {} });
    const start = program.commands
      .find((c) => c.name() === 'proxy')!
      .commands.find((c) => c.name() === 'start')!;
    const globals = program.options.filter((o) => !['--version', '--help'].includes(o.long ?? ''));
    const value = (o: Option) => (o.required || o.optional ? ['v'] : []);
    for (const o of globals) {
      for (const flag of [o.short, o.long].filter((f): f is string => !!f))
        expect(parseLeanProxyArgs([flag, ...value(o), 'proxy', 'start']), flag).toBeDefined();
    }
    for (const o of start.options) {
      if (o.long === '--help') continue;
      expect(parseLeanProxyArgs(['proxy', 'start', o.long!, ...value(o)]), o.long).toBeDefined();
    }
    expect(start.options.length).toBeGreaterThan(3);
  });
});

describe('the lean proxy entry: the config it serves', () => {
  it('a hand-written YAML (no snapshot yet), then an edit: each start serves what the file says', async () => {
    const snap = snapshotFileFor(t.configFile);
    expect(existsSync(snap)).toBe(false);
    let p = await startProxy();
    // The snapshot was made (by a short-lived full-CLI read), 0600, and the lean entry ran.
    expect(statSync(snap).mode & 0o777).toBe(0o600);
    expect(p.loaded().some((f) => f.endsWith('proxy.cjs'))).toBe(true);
    expect(await ask()).toMatchObject({ status: 200, gateway: 'A', token: 'tok-A' });
    expect(await stop(p)).toBe(0);

    // A hand edit: the snapshot no longer matches the YAML (size, mtime, content hash).
    writeConfig(t.configFile, gwB, 'tok-B');
    p = await startProxy();
    expect(p.loaded().some((f) => f.endsWith('proxy.cjs'))).toBe(true);
    // (The token is the one cached for the provider by the first run: command providers keep it.)
    expect(await ask()).toMatchObject({ status: 200, gateway: 'B' });
    expect(loadedWith(p, YAML_MARK)).toEqual([]);
    expect(await stop(p)).toBe(0);
  });

  it('--config: the file named, not the default one (each with its own snapshot)', async () => {
    await runGatepass(['config', 'show'], { env: t.env }); // the default config's snapshot is fresh
    const other = path.join(t.home, 'other.yaml');
    writeConfig(other, gwB, 'tok-other');
    const p = await startProxy(['--config', other]);
    expect(p.loaded().some((f) => f.endsWith('proxy.cjs'))).toBe(true);
    expect(await ask()).toMatchObject({ status: 200, gateway: 'B', token: 'tok-other' });
    expect(existsSync(snapshotFileFor(other))).toBe(true);
    expect(await stop(p)).toBe(0);
  });

  it('a malformed YAML: the full CLI reports it, with the same message and exit code', async () => {
    writeFileSync(t.configFile, 'providers: [oops\n');
    const lean = await runGatepass(['proxy', 'start', '--port', String(port)], { env: t.env });
    const full = await runGatepass(['proxy', 'start', '--port', String(port)], {
      env: { ...t.env, GATEPASS_PROXY_FAST_PATH: '0' },
    });
    expect(lean.code).toBe(1);
    expect(lean.stderr).toMatch(/not valid YAML/);
    expect({ code: lean.code, stderr: lean.stderr }).toEqual({ code: full.code, stderr: full.stderr });
  });

  it('an unknown --provider and a bad --port: the same usage errors (exit 2) as the full CLI', async () => {
    await runGatepass(['config', 'show'], { env: t.env });
    for (const args of [
      ['--provider', 'nosuch', 'proxy', 'start'],
      ['proxy', 'start', '--port', '99999'],
    ]) {
      const lean = await runGatepass(args, { env: t.env });
      const full = await runGatepass(args, { env: { ...t.env, GATEPASS_PROXY_FAST_PATH: '0' } });
      expect(lean.code, args.join(' ')).toBe(2);
      expect({ code: lean.code, stderr: lean.stderr }).toEqual({ code: full.code, stderr: full.stderr });
    }
  });

  it('a logged-out provider: the same refusal as the full CLI, no token command run', async () => {
    writeConfig(t.configFile, gwA, 'tok-A', '    logged_out: true\n');
    const answers = [];
    for (const env of [{}, { GATEPASS_PROXY_FAST_PATH: '0' }]) {
      port = await freePort();
      const p = await startProxy([], env);
      const r = await ask();
      expect(r.gateway).toBeUndefined();
      answers.push({ status: r.status, body: r.body });
      expect(await stop(p)).toBe(0);
    }
    expect(answers[0]!.body).toMatch(/logged out/);
    expect(answers[0]).toEqual(answers[1]);
  });

  const isRoot = process.getuid?.() === 0;
  it.skipIf(process.platform === 'win32' || !isRoot)(
    'a managed config that appears after the snapshot was made: its locked value wins',
    async () => {
      await runGatepass(['config', 'show'], { env: t.env }); // snapshot made without a managed layer
      const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-managed-'));
      try {
        chmodSync(dir, 0o755);
        const managed = path.join(dir, 'config.yaml');
        writeFileSync(
          managed,
          `providers:\n  default:\n    type: command\n    gateway_url: ${gwB.url}\n    auth:\n      env_var: GP_MANAGED_TOKEN\nlocked:\n  - gateway_url\n`,
          { mode: 0o644 },
        );
        const p = await startProxy([], { GATEPASS_MANAGED_CONFIG: managed, GP_MANAGED_TOKEN: 'tok-M' });
        expect(p.loaded().some((f) => f.endsWith('proxy.cjs'))).toBe(true);
        expect(await ask()).toMatchObject({ status: 200, gateway: 'B', token: 'tok-M' });
        expect(await stop(p)).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
