import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../src/config/paths.js';
import { stopBackgroundProxy } from '../../src/proxy/control.js';
import { processAlive, proxyStateFile, readProxyState, writeProxyState } from '../../src/proxy/state.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { CLI, makeTempHome, runGatepass, runProcess, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { freePort, hasIpv6Loopback } from '../helpers/ports.js';
import { startTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let issuer: TestIssuer;
let gw: FakeGateway;
let t: TempHome;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl });
});
afterAll(async () => {
  await gw.close();
  await issuer.close();
});

let token = '';
/** The configured proxy.listen_port (free, so no other proxy on the machine answers there). */
let cfgPort = 0;
beforeEach(async () => {
  cfgPort = await freePort();
  token = await issuer.sign({ sub: 'dave' });
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
    GP_TEST_TOKEN: token,
  });
  await mkdir(path.dirname(t.configFile), { recursive: true });
  await writeFile(
    t.configFile,
    `version: 1
default_provider: default
providers:
  default:
    type: command
    gateway_url: ${gw.url}
    auth:
      env_var: GP_TEST_TOKEN
proxy:
  listen_port: ${cfgPort}
`,
  );
});
afterEach(async () => {
  await runGatepass(['proxy', 'stop'], { env: t.env });
  t.cleanup();
});

const gp = (args: string[]) => runGatepass(args, { env: t.env });

describe('gatepass proxy status/stop without a proxy', () => {
  it('reports not running, in text and JSON', async () => {
    const r = await gp(['proxy', 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('not running\n');
    const j = await gp(['proxy', 'status', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ running: false });
    const s = await gp(['proxy', 'stop']);
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/not running/);
  });

  it('rejects a bad --port as a usage error', async () => {
    const r = await gp(['proxy', 'start', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port must be a number/);
  });
});

describe('stopBackgroundProxy', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.pid && processAlive(child.pid)) child.kill('SIGKILL');
    child = undefined;
  });

  it('SIGKILLs a proxy that ignores SIGTERM after the timeout, and removes the state', async () => {
    const paths = resolvePaths({ env: t.env });
    const port = await freePort();
    // A stand-in proxy holding the nonce: answers the control challenge, ignores SIGTERM.
    const nonce = randomBytes(32).toString('hex');
    child = spawn(
      process.execPath,
      [
        '-e',
        `process.on('SIGTERM', () => {});
         const { createHmac } = require('node:crypto');
         require('node:http').createServer((q, s) => {
           const c = q.headers['x-gatepass-challenge'];
           const proof = createHmac('sha256', process.env.NONCE).update(c + ':' + process.pid).digest('hex');
           s.end(JSON.stringify({ ok: true, proof }));
         }).listen(${port}, '127.0.0.1', () => console.log('up'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NONCE: nonce } },
    );
    await new Promise((r) => child!.stdout!.once('data', r));
    await writeProxyState(paths, {
      pid: child.pid!,
      port,
      url: `http://127.0.0.1:${port}`,
      provider: 'default',
      startedAt: Date.now(),
      nonce,
    });
    const r = await stopBackgroundProxy(paths, { timeoutMs: 300 });
    expect(r).toEqual({ stopped: true, pid: child.pid, forced: true });
    expect(processAlive(child.pid!)).toBe(false);
    expect(existsSync(proxyStateFile(paths))).toBe(false);
  });

  it('never signals a process that is not our proxy (recycled pid): drops the stale state', async () => {
    const paths = resolvePaths({ env: t.env });
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await writeProxyState(paths, {
      pid: child.pid!,
      port: await freePort(),
      url: 'http://127.0.0.1:1',
      provider: 'default',
      startedAt: 0,
    });
    const r = await stopBackgroundProxy(paths, { timeoutMs: 300 });
    expect(r).toMatchObject({ stopped: false, stale: true });
    expect(processAlive(child.pid!)).toBe(true);
    expect(await readProxyState(paths)).toBeUndefined();
  });

  it('an impostor health server on the recorded port naming another process: that process survives', async () => {
    // The real proxy died; another user's (or any) server took its port and reports the pid of a
    // process of ours (a recycled pid, or any victim). Before: `proxy stop` trusted that pid.
    const paths = resolvePaths({ env: t.env });
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'proxy', 'start'], {
      stdio: 'ignore',
    });
    const victim = child.pid!;
    const port = await freePort();
    const impostor = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((q, s) => s.end(JSON.stringify({ ok: true, pid: ${victim}, proof: 'f'.repeat(64) })))
           .listen(${port}, '127.0.0.1', () => console.log('up'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((r) => impostor.stdout!.once('data', r));
      await writeProxyState(paths, {
        pid: victim,
        port,
        url: `http://127.0.0.1:${port}`,
        provider: 'default',
        startedAt: Date.now(),
        nonce: randomBytes(32).toString('hex'),
        procStart: 1, // not the victim's start time
      });
      const r = await gp(['proxy', 'stop']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/could not be proven to be gatepass' proxy: not signalled/);
      await sleep(300);
      expect(processAlive(victim)).toBe(true);
      expect(JSON.parse((await gp(['proxy', 'status', '--json'])).stdout)).toEqual({ running: false });
    } finally {
      impostor.kill('SIGKILL');
    }
  });
});

describe('gatepass proxy with the built CLI', () => {
  it('start --background, status, requests through it, idempotent start, stop', async () => {
    const port = await freePort();
    const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
    expect(start.stderr).toBe(start.stderr.replace(KEY, '')); // never the key
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toBe(`http://127.0.0.1:${port}\n`);

    // The state file: pid and port, private.
    const paths = resolvePaths({ env: t.env });
    const stateFile = proxyStateFile(paths);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({ port, url: `http://127.0.0.1:${port}`, provider: 'default' });
    expect(processAlive(state.pid)).toBe(true);

    const status = JSON.parse((await gp(['proxy', 'status', '--json'])).stdout);
    expect(status).toMatchObject({
      running: true,
      pid: state.pid,
      port,
      provider: 'default',
      url: `http://127.0.0.1:${port}`,
      engine: 'wire',
    });
    expect(status.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const text = await gp(['proxy', 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^running: http://127\\.0\\.0\\.1:${port} \\(pid ${state.pid}, provider "default", since `),
    );

    // The health endpoint answers without a key, but names the process only to the key's holder.
    const health = await fetch(`http://127.0.0.1:${port}/.gatepass/health`);
    expect(health.status).toBe(200);
    const anonymous = (await health.json()) as { pid?: number };
    expect(anonymous).toMatchObject({ ok: true, provider: 'default' });
    expect(anonymous.pid).toBeUndefined();
    const keyed = await fetch(`http://127.0.0.1:${port}/.gatepass/health`, { headers: { 'x-api-key': KEY } });
    expect(await keyed.json()).toMatchObject({ ok: true, pid: state.pid });
    // The nonce is in the 0600 state file, never in the proxy's command line.
    expect(state.nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(`/proc/${state.pid}/cmdline`, 'utf8')).not.toContain(state.nonce);

    const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'bg' }],
    });
    expect(r.choices[0]!.message.content).toBe('echo: bg');
    expect(gw.requests.at(-1)!.subject).toBe('dave');
    // Also on ::1, when the machine has IPv6 loopback.
    if (await hasIpv6Loopback()) {
      const v6 = new OpenAI({ apiKey: KEY, baseURL: `http://[::1]:${port}/v1`, maxRetries: 0 });
      expect((await v6.models.list()).data[0]!.id).toBe('test-model');
    }

    const again = await gp(['proxy', 'start', '--background', '--port', String(port)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`http://127.0.0.1:${port}\n`);
    expect(JSON.parse((await gp(['proxy', 'status', '--json'])).stdout).pid).toBe(status.pid);

    const stop = await gp(['proxy', 'stop']);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toMatch(/stopped/);
    expect(processAlive(status.pid)).toBe(false);
    expect(JSON.parse((await gp(['proxy', 'status', '--json'])).stdout)).toEqual({ running: false });
    expect(existsSync(stateFile)).toBe(false);
  });

  it('background proxy.log: every proxy-made error with its cause, without -v, never the key', async () => {
    const port = await freePort();
    // No token: the token source fails (401); a wrong key is refused (403).
    const env = { ...t.env, GP_TEST_TOKEN: '' };
    const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], { env });
    expect(start.code, start.stderr).toBe(0);
    try {
      const wrong = await fetch(`http://127.0.0.1:${port}/v1/models?key=wrong-${KEY.slice(9, 20)}`);
      expect(wrong.status).toBe(403);
      const noToken = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { 'x-api-key': KEY } });
      expect(noToken.status).toBe(401);
      const logFile = path.join(resolvePaths({ env }).stateDir, 'proxy.log');
      const log = readFileSync(logFile, 'utf8');
      expect(log).toMatch(/proxy: 403 GET \/v1\/models: gatepass proxy: missing or wrong local proxy key/);
      expect(log).toMatch(
        /proxy: 401 GET \/v1\/models: gatepass: no gateway token available \(.*GP_TEST_TOKEN/,
      );
      expect(log).not.toContain(KEY.slice(9, 20));
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
    } finally {
      await runGatepass(['proxy', 'stop'], { env });
    }
  });

  it("the background proxy's nonce never reaches a token_command's environment", async () => {
    const port = await freePort();
    const envDump = path.join(t.home, 'token-command-env.txt');
    await writeFile(
      t.configFile,
      `version: 1
default_provider: default
providers:
  default:
    type: command
    gateway_url: ${gw.url}
    auth:
      token_command: env > '${envDump}'; printf '%s' "$GP_TEST_TOKEN"
`,
    );
    const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
    expect(start.code, start.stderr).toBe(0);
    const r = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { 'x-api-key': KEY } });
    expect(r.status).toBe(200);
    const nonce = JSON.parse(readFileSync(proxyStateFile(resolvePaths({ env: t.env })), 'utf8')).nonce;
    expect(nonce).toMatch(/^[0-9a-f]{64}$/);
    const env = readFileSync(envDump, 'utf8');
    expect(env).toContain('GP_TEST_TOKEN=');
    expect(env).not.toContain('GATEPASS_PROXY_NONCE');
    expect(env).not.toContain(nonce);
  });

  it('proxy key prints the local key alone on stdout; a warning on stderr only on a terminal', async () => {
    const r = await gp(['proxy', 'key']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${KEY}\n`);
    expect(r.stderr).toBe('');
    // On a terminal (script(1) gives the command a pty): the warning comes first, on stderr.
    const tty = await runProcess('script', ['-qec', `${process.execPath} ${CLI} proxy key`, '/dev/null'], {
      env: t.env,
    });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/warning: this key lets a client use your gateway token/);
    expect(tty.stdout).toContain(KEY);
    // Without a key yet (a file store, before setup): one is made and stays the same.
    const fresh = makeTempHome({ GATEPASS_SECRET_STORE: 'file' });
    try {
      const a = await runGatepass(['proxy', 'key'], { env: fresh.env });
      const b = await runGatepass(['proxy', 'key'], { env: fresh.env });
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/^gp_local_[\w-]{43}\n$/);
      expect(b.stdout).toBe(a.stdout);
    } finally {
      fresh.cleanup();
    }
  });

  it("--background on a busy port fails with the child's reason", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await gp(['proxy', 'start', '--background', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /exited \(code 1\) before answering: port \d+ on 127\.0\.0\.1 is already in use/,
      );
      expect(r.stderr).toMatch(/hint: .*proxy\.log/);
      expect(JSON.parse((await gp(['proxy', 'status', '--json'])).stdout)).toEqual({ running: false });
    } finally {
      blocker.close();
    }
  });

  it('foreground: access log with -v, graceful exit on SIGTERM, port in use is a clear error', async () => {
    const port = cfgPort;
    const child = spawn(process.execPath, [CLI, '-v', 'proxy', 'start'], {
      env: t.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/listening on http:\/\/127\.0\.0\.1:/);
    const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    await client.models.list();
    await expect.poll(() => stderr).toMatch(/GET \/v1\/models 200 [\d.]+ms/);

    // No state file for a foreground proxy: status finds it on the configured port.
    expect(JSON.parse((await gp(['proxy', 'status', '--json'])).stdout)).toMatchObject({
      running: true,
      foreground: true,
      pid: child.pid,
      port,
    });

    const busy = await gp(['proxy', 'start']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/already in use/);

    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toContain(KEY);
    expect(stderr).not.toContain(token);
  });
});
