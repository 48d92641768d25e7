/**
 * Egress proxy: an HTTPS IdP (`https://idp.corp.test`) and an HTTPS gateway
 * (`https://gateway.corp.test`) that only a real CONNECT proxy on loopback can resolve, the proxy
 * requiring Basic credentials given in HTTPS_PROXY. Login (real Chromium through the same proxy),
 * token refresh, the device grant, revocation, setup's layout probe and `gatepass proxy` (both
 * engine settings) all go through it,
 * with --ca-file applying to the origins inside the tunnel; with the proxy down each fails naming
 * the proxy, and the proxy password never appears in any output, -v included.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { gatepassArgv, runGatepass } from '../helpers/cli.js';
import { type ConnectProxy, startConnectProxy } from '../helpers/connect-proxy.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

const USER = 'corp-user';
const PASSWORD = 'Pr0xy-pa55-Zk7q';
const IDP = 'https://idp.corp.test';
const GATEWAY = 'https://gateway.corp.test';

let ca: TestCa;
let idp: TestIdp;
let gw: FakeGateway;
let egress: ConnectProxy;
let hook: BrowserHook;
let home: OidcHome;
let proxyEnv: NodeJS.ProcessEnv;

const subOf = (token: string) =>
  String((JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub);

beforeAll(async () => {
  ca = makeTestCa(['idp.corp.test', 'gateway.corp.test']);
  idp = await startTestIdp({ tls: ca.server, issuerOrigin: IDP });
  gw = await startFakeGateway({ tls: ca.server, verify: subOf });
  egress = await startConnectProxy({
    hosts: {
      'idp.corp.test:443': { host: '127.0.0.1', port: idp.port },
      'gateway.corp.test:443': { host: '127.0.0.1', port: gw.port },
    },
    auth: { username: USER, password: PASSWORD },
  });
  hook = await startBrowserHook({
    login: 'pat',
    ignoreHttpsErrors: true,
    proxy: { server: egress.url, username: USER, password: PASSWORD },
  });
  proxyEnv = {
    HTTPS_PROXY: `http://${USER}:${PASSWORD}@127.0.0.1:${egress.port}`,
    NO_PROXY: 'unrelated.example',
    GATEPASS_INTERACTIVE: '0',
  };
  home = await configureOidcHome(idp, hook, proxyEnv);
  const r = await runGatepass(['config', 'set', '--gateway-url', GATEWAY, '--ca-file', ca.caFile], {
    env: home.env,
  });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  if (home) {
    await runGatepass(['proxy', 'stop'], { env: home.env });
    home.cleanup();
  }
  await hook?.close();
  await egress?.close();
  await gw?.close();
  await idp?.close();
  ca?.cleanup();
});

const noSecret = (text: string) => {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
};

describe('through a CONNECT egress proxy (HTTPS_PROXY with credentials)', () => {
  it('gatepass cannot reach the hosts without the proxy, nor when NO_PROXY exempts them', async () => {
    const r = await runGatepass(['login', '--timeout', '20'], {
      env: { ...home.env, HTTPS_PROXY: '' },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /cannot reach the identity provider at https:\/\/idp\.corp\.test \((ENOTFOUND|EAI_AGAIN)\)/,
    );
    const tunnels = egress.tunnelCount();
    for (const noProxy of ['.corp.test', 'idp.corp.test', '*']) {
      const direct = await runGatepass(['login', '--timeout', '20'], {
        env: { ...home.env, NO_PROXY: noProxy },
        timeoutMs: 30_000,
      });
      expect(direct.code).toBe(1);
      expect(direct.stderr).toMatch(/\((ENOTFOUND|EAI_AGAIN)\)/);
    }
    expect(egress.tunnelCount()).toBe(tunnels);
  });

  it('login: discovery, the browser and the code exchange all go through the proxy', async () => {
    const r = await runGatepass(['-v', 'login', '--timeout', '60'], { env: home.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    await hook.waitForLogins(1);
    expect(hook.errors()).toEqual([]);
    expect(egress.tunnels['idp.corp.test:443']).toBeGreaterThanOrEqual(2);
    expect(idp.grantCount('authorization_code')).toBe(1);
    // undici sent the credentials from the URL as Basic proxy authentication (the browser's own
    // first attempts get a 407 challenge, as with any authenticating proxy).
    expect(egress.authHeaders).toContain(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
    noSecret(r.stderr + r.stdout);
  });

  it('token refresh goes through the proxy', async () => {
    home.expireCachedToken();
    const before = egress.tunnels['idp.corp.test:443'] ?? 0;
    const r = await runGatepass(['-v', 'token'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^eyJ/);
    expect(idp.grantCount('refresh_token')).toBe(1);
    expect(egress.tunnels['idp.corp.test:443']).toBeGreaterThan(before);
    noSecret(r.stderr);
  });

  it("setup's layout probe reaches the gateway through the proxy and tells direct-mode tools about it", async () => {
    mkdirSync(path.join(home.home, '.claude'), { recursive: true });
    const r = await runGatepass(['setup', '--tools', 'claude'], { env: home.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(egress.tunnels['gateway.corp.test:443']).toBeGreaterThanOrEqual(1);
    // The fake gateway answers 401 everywhere, plain and prefixed paths alike: no prefix. Recorded as
    // '' (an unreachable gateway records nothing and is probed again next time): it was reached.
    const cfg = parse(readFileSync(home.configFile, 'utf8')) as {
      providers: { default: { anthropic_path_prefix?: string } };
    };
    expect(cfg.providers.default.anthropic_path_prefix).toBe('');
    expect(r.stderr).not.toMatch(/could not reach the gateway/);
    expect(r.stderr).toMatch(
      /Claude Code reaches the gateway itself through HTTPS_PROXY \(http:\/\/\*\*\*@127\.0\.0\.1:\d+\)/,
    );
    noSecret(r.stderr + r.stdout);
  });

  for (const engine of ['wire', 'node'] as const) {
    it(`gatepass proxy (GATEPASS_PROXY_ENGINE=${engine}) forwards to the gateway through the tunnel`, async () => {
      const port = await freePort();
      const env = { ...home.env, GATEPASS_PROXY_ENGINE: engine };
      const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], { env });
      expect(start.code, start.stderr).toBe(0);
      try {
        const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
        const before = egress.tunnels['gateway.corp.test:443'] ?? 0;
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'via egress' }] }),
        });
        const body = await res.text();
        expect(res.status, body).toBe(200);
        expect(body).toContain('echo: via egress');
        expect(gw.requests.at(-1)?.subject).toBe('pat');
        expect(egress.tunnels['gateway.corp.test:443']).toBeGreaterThan(before);
      } finally {
        await runGatepass(['proxy', 'stop'], { env });
      }
    });
  }

  it('network.proxy in the config wins over the environment (a wrong HTTPS_PROXY is ignored)', async () => {
    const set = await runGatepass(
      ['config', 'set', '--egress-proxy', `http://${USER}:${PASSWORD}@127.0.0.1:${egress.port}`],
      { env: home.env },
    );
    expect(set.code, set.stderr).toBe(0);
    const show = await runGatepass(['config', 'show'], { env: home.env });
    expect(show.stdout).toMatch(/proxy: http:\/\/\*\*\*@127\.0\.0\.1:\d+/);
    noSecret(show.stdout + show.stderr);
    home.expireCachedToken();
    const deadPort = await freePort();
    const r = await runGatepass(['token'], {
      env: { ...home.env, HTTPS_PROXY: `http://127.0.0.1:${deadPort}` },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(idp.grantCount('refresh_token')).toBe(2);
    const unset = await runGatepass(['config', 'unset', 'network.proxy'], { env: home.env });
    expect(unset.code, unset.stderr).toBe(0);
  });

  it('with the proxy down, refresh, login, the probe and the proxy fail naming the proxy (no credentials)', async () => {
    await egress.down();
    try {
      home.expireCachedToken();
      let r = await runGatepass(['token'], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /cannot reach the identity provider at https:\/\/idp\.corp\.test through the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
      );
      expect(r.stderr).toMatch(/hint: .*HTTPS_PROXY/);
      noSecret(r.stderr);

      r = await runGatepass(['login', '--timeout', '20'], { env: home.env, timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/through the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      noSecret(r.stderr);

      // Forget the layout found earlier, so setup probes again.
      r = await runGatepass(['config', 'unset', 'anthropic_path_prefix', 'openai_path_prefix'], {
        env: home.env,
      });
      expect(r.code, r.stderr).toBe(0);
      r = await runGatepass(['setup', '--tools', 'claude', '--lazy'], { env: home.env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /not reachable through the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
      );
      noSecret(r.stderr);

      const port = await freePort();
      const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
        env: { ...home.env, GATEPASS_PROXY_ENGINE: 'wire' },
      });
      expect(start.code, start.stderr).toBe(0);
      try {
        const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
        // A still-valid token is served from the cache; the gateway hop needs the proxy.
        const token = await runGatepass(['token'], { env: home.env });
        expect(token.code).toBe(1); // expired and cannot refresh…
        const res = await fetch(`http://127.0.0.1:${port}/v1/models`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const body = await res.text();
        // …so the proxy cannot get a token either: 401 naming the proxy in its cause.
        expect([401, 502]).toContain(res.status);
        expect(body).toMatch(/through the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+/);
        noSecret(body);
      } finally {
        await runGatepass(['proxy', 'stop'], { env: home.env });
      }
    } finally {
      await egress.up();
    }
  });

  it('the proxy answers 502 naming the egress proxy when only the gateway hop fails', async () => {
    // A fresh token first (through the proxy), then take the proxy down.
    home.expireCachedToken();
    const t = await runGatepass(['token'], { env: home.env });
    expect(t.code, t.stderr).toBe(0);
    const port = await freePort();
    const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
      env: home.env,
    });
    expect(start.code, start.stderr).toBe(0);
    await egress.down();
    try {
      const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
      const res = await fetch(`http://127.0.0.1:${port}/v1/models`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const body = await res.text();
      expect(res.status, body).toBe(502);
      expect(body).toMatch(
        /could not reach the gateway at https:\/\/gateway\.corp\.test through the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
      );
      noSecret(body);
    } finally {
      await egress.up();
      await runGatepass(['proxy', 'stop'], { env: home.env });
    }
  });

  it('the device grant and logout (revocation) go through the proxy too', async () => {
    const before = egress.tunnels['idp.corp.test:443'] ?? 0;
    const child = spawn(...gatepassArgv(['login', '--device', '--timeout', '60']), {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no verification URL: ${stderr}`)), 20_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /visit:\s+(\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const text = await hook.visit(url).catch((err: unknown) => {
      child.kill();
      throw err;
    });
    if (!/success/i.test(text)) child.kill();
    expect(text).toMatch(/success/i);
    expect(await closed, stderr).toBe(0);
    expect(idp.grantCount('urn:ietf:params:oauth:grant-type:device_code')).toBe(1);
    noSecret(stderr);

    const revocations = idp.counts.revocations;
    const r = await runGatepass(['logout'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(idp.counts.revocations).toBe(revocations + 1);
    expect(egress.tunnels['idp.corp.test:443']).toBeGreaterThan(before + 1);
  });
});
