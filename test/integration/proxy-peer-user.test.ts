/**
 * Two real Unix users against the proxy (issue #14.3): a second user made with `useradd`, its
 * client run with `runuser`. Holding the right local key is not enough: the proxy serves only
 * connections whose client process runs as the proxy's own user (Linux, /proc/net/tcp{,6}), on both
 * engines; and `proxy start` refuses a port another user already holds, naming that user.
 * Needs root (to create the user); skipped, with the reason, otherwise.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { listenerUid, peerCheckAvailable } from '../../src/net/peer-uid.js';
import { startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, runGatepass, runProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { TestTokenSource } from '../helpers/tokens.js';

const isRoot = process.getuid?.() === 0;
const canRun = isRoot && peerCheckAvailable();
const why = !peerCheckAvailable()
  ? 'no /proc/net/tcp on this platform'
  : 'needs root to create a second user with useradd';
if (!canRun) console.warn(`proxy-peer-user.test.ts skipped: ${why}`);

const KEY = generateLocalProxyKey();
const USER = `gpp${process.pid}${Math.floor(Math.random() * 1e4)}`.slice(0, 30);
let dir = '';
let gateway: http.Server;
let gatewayUrl = '';

/** useradd/userdel take /etc/passwd's lock: other tests may hold it for a moment. */
function withPasswdLock(args: string[], cmd: string): void {
  for (let i = 0; ; i++) {
    try {
      execFileSync(cmd, args, { stdio: 'pipe' });
      return;
    } catch (err) {
      if (i >= 20) throw err;
      execFileSync('sleep', ['0.25']);
    }
  }
}

beforeAll(async () => {
  if (!canRun) return;
  withPasswdLock(['--no-create-home', '--shell', '/bin/false', USER], 'useradd');
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-peer-'));
  chmodSync(dir, 0o755);
  // The client: one request with the right key; prints the status (or the connection error).
  writeFileSync(
    path.join(dir, 'client.mjs'),
    `import http from 'node:http';
const [port, key] = process.argv.slice(2);
const req = http.request({ host: '127.0.0.1', port: Number(port), path: '/v1/models', headers: { 'x-api-key': key } }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
});
req.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
req.end();
`,
  );
  chmodSync(path.join(dir, 'client.mjs'), 0o644);
  gateway = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":[]}');
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  if (!canRun) return;
  await new Promise((r) => gateway.close(r));
  rmSync(dir, { recursive: true, force: true });
  withPasswdLock([USER], 'userdel');
});

async function client(port: number, asOther: boolean): Promise<{ status?: number; body?: string }> {
  const script = path.join(dir, 'client.mjs');
  const r = asOther
    ? await runProcess('runuser', ['-u', USER, '--', process.execPath, script, String(port), KEY], {
        cwd: dir,
      })
    : await runProcess(process.execPath, [script, String(port), KEY], { cwd: dir });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { status?: number; body?: string };
}

describe.skipIf(!canRun)('the proxy serves only its own user', () => {
  for (const engine of ['wire', 'node'] as const) {
    it(`${engine} engine: another user holding the right key gets 403; the proxy's own user 200`, async () => {
      const p = await startProxy({
        tokenSource: new TestTokenSource({ issue: () => 'peer-token' }),
        gatewayUrl,
        port: 0,
        host: '127.0.0.1',
        localKey: KEY,
        logger: silentLogger,
        engine,
      });
      try {
        const other = await client(p.port, true);
        expect(other.status).toBe(403);
        expect(other.body).toContain(`refused a connection from ${USER} (uid`);
        expect(other.body).not.toContain(KEY);
        const own = await client(p.port, false);
        expect(own.status).toBe(200);
        expect(own.body).toBe('{"data":[]}');
      } finally {
        await p.close(100);
      }
    }, 60_000);
  }

  it('`proxy start` refuses a port another user holds and names that user', async () => {
    const port = await freePort();
    let squatter: ChildProcess | undefined;
    const t = makeTempHome({
      GATEPASS_SECRET_STORE: 'env',
      GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
      GP_TEST_TOKEN: 'x',
    });
    try {
      squatter = spawn(
        'runuser',
        [
          '-u',
          USER,
          '--',
          process.execPath,
          '-e',
          // Exits when its stdin closes (killing runuser would leave it behind).
          `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'));
           process.stdin.resume().on('end', () => process.exit()); setTimeout(() => process.exit(), 55_000);`,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise((r) => squatter!.stdout!.once('data', r));
      expect(listenerUid('127.0.0.1', port)).not.toBe(0);
      await mkdir(path.dirname(t.configFile), { recursive: true });
      await writeFile(
        t.configFile,
        `version: 1
default_provider: default
providers:
  default:
    type: command
    gateway_url: ${gatewayUrl}
    auth:
      env_var: GP_TEST_TOKEN
`,
      );
      const r = await runGatepass(['proxy', 'start', '--port', String(port)], { env: t.env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is held by another user: ${USER} (uid`);
      const bg = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
        env: t.env,
      });
      expect(bg.code).not.toBe(0);
      expect(bg.stderr).toContain(`held by another user: ${USER}`);
    } finally {
      if (squatter && squatter.exitCode === null) {
        const exited = new Promise((r) => squatter!.once('exit', r));
        squatter.stdin?.end();
        await exited;
      }
      t.cleanup();
    }
  }, 60_000);
});
