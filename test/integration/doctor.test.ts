/**
 * `gatepass doctor`: every check is made to pass and made to fail (or warn), with the built CLI in
 * a temp HOME against real loopback servers: a small OIDC discovery server (its issuer and
 * scopes_supported switchable, its JWKS signing the test's access tokens), the fake gateway
 * verifying the JWT, an HTTPS gateway with a throwaway CA, a real CONNECT egress proxy, the real
 * background proxy, and token helpers written by a real `setup` from an install that then goes away.
 * Fail cases are grouped: one run breaks several things at once.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { makeTempHome, ROOT, runGatepass, runNode, type TempHome } from '../helpers/cli.js';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  summary: string;
  fix?: string;
}

interface Discovery {
  url: string;
  /** What the discovery document says (default: its own URL). */
  issuer: string | undefined;
  scopes: string[];
  sign(aud?: string): Promise<string>;
  close(): Promise<void>;
}

/** A minimal OIDC discovery server on loopback: discovery document and the JWKS its tokens verify with. */
async function startDiscovery(host: string): Promise<Discovery> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }],
  });
  const d: Discovery = {
    url: '',
    issuer: undefined,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    sign: (aud = 'gatepass-gateway') => signToken(privateKey, d.url, aud),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/jwks'
        ? jwks
        : req.url === '/.well-known/openid-configuration'
          ? JSON.stringify({
              issuer: d.issuer ?? d.url,
              authorization_endpoint: `${d.url}/auth`,
              token_endpoint: `${d.url}/token`,
              jwks_uri: `${d.url}/jwks`,
              scopes_supported: d.scopes,
              response_types_supported: ['code'],
            })
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ?? '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  d.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  d.close = () => new Promise((r) => server.close(() => r()));
  return d;
}

function signToken(
  key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
  issuer: string,
  aud: string,
): Promise<string> {
  return new SignJWT({ scope: 'openid offline_access' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience(aud)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

/** Store tokens as `gatepass login` would (file store), for the provider's key. */
function seedTokens(
  t: TempHome,
  gateway: string,
  issuer: string,
  accessToken: string,
  scopes?: string[],
  audience?: string,
): void {
  const dir = path.join(t.home, '.local/share/gatepass/secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = oidcSecretKey(gateway, { issuer, client_id: 'doctor-client', scopes, audience });
  const at = { access_token: accessToken, expires_at: Math.floor(Date.now() / 1000) + 3600 };
  writeFileSync(path.join(dir, key), 'refresh-token-doctor-test', { mode: 0o600 });
  writeFileSync(path.join(dir, `${key}_AT`), JSON.stringify(at), { mode: 0o600 });
}

function unseedTokens(t: TempHome): void {
  rmSync(path.join(t.home, '.local/share/gatepass/secrets'), { recursive: true, force: true });
}

async function configure(t: TempHome, settings: string[]): Promise<void> {
  const r = await runGatepass(['config', 'set', '--client-id', 'doctor-client', ...settings], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
}

async function doctor(
  t: TempHome,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  provider = 'default',
): Promise<{ code: number | null; checks: Record<string, Check>; stdout: string; stderr: string }> {
  const r = await runGatepass(['doctor', '--json', ...args], {
    env: { ...t.env, ...env },
    timeoutMs: 60_000,
  });
  const report = JSON.parse(r.stdout) as { provider: string; checks: Check[] };
  expect(report.provider).toBe(provider);
  return {
    code: r.code,
    checks: Object.fromEntries(report.checks.map((c) => [c.id, c])),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const homes: TempHome[] = [];
const closers: Array<() => Promise<void>> = [];
let ca: TestCa;
beforeAll(() => {
  ca = makeTestCa(['gw.corp.test']);
});
afterAll(async () => {
  for (const c of closers) await c().catch(() => {});
  for (const h of homes) h.cleanup();
  ca?.cleanup();
});

function home(extra: NodeJS.ProcessEnv = {}): TempHome {
  const t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', PATH: '/usr/bin:/bin', ...extra });
  homes.push(t);
  return t;
}

it('a healthy setup passes every check; then config, IdP, port, gateway, helper and proxy faults each fail', async () => {
  const disc = await startDiscovery('localhost');
  closers.push(disc.close);
  const gw: FakeGateway = await startFakeGateway({ jwksUrl: `${disc.url}/jwks`, issuer: disc.url });
  closers.push(gw.close);
  const t = home();
  for (const dir of ['.claude', '.gemini']) mkdirSync(path.join(t.home, dir), { recursive: true });
  const callbackPort = await freePort();
  await configure(t, [
    '--gateway-url',
    gw.url,
    '--issuer',
    disc.url,
    '--callback-port',
    String(callbackPort),
    '--proxy-port',
    String(await freePort()),
  ]);
  // Wired by a gatepass install that can go away: Claude Code (token helper), Gemini (proxy mode).
  const app = path.join(t.home, 'old-install');
  cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
  writeFileSync(path.join(app, 'package.json'), readFileSync(path.join(ROOT, 'package.json')));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
  const setup = await runNode(
    [path.join(app, 'dist/cli.js'), 'setup', '--tools', 'claude,gemini', '--lazy'],
    {
      env: t.env,
      cwd: t.home,
      timeoutMs: 60_000,
    },
  );
  expect(setup.code, setup.stderr).toBe(0);
  seedTokens(t, gw.url, disc.url, await disc.sign());
  const start = await runGatepass(['proxy', 'start', '--background'], { env: t.env, timeoutMs: 60_000 });
  expect(start.code, start.stderr).toBe(0);
  closers.push(async () => {
    await runGatepass(['proxy', 'stop'], { env: t.env });
  });

  const ok = await doctor(t);
  expect(ok.code, ok.stdout).toBe(0);
  const c = ok.checks;
  for (const id of ['config', 'egress_proxy', 'dns', 'tcp', 'discovery', 'scopes', 'callback_port']) {
    expect(c[id]?.status, `${id}: ${c[id]?.summary}`).toBe('pass');
  }
  for (const id of ['secret_store', 'token', 'gateway', 'helpers', 'proxy']) {
    expect(c[id]?.status, `${id}: ${c[id]?.summary}`).toBe('pass');
  }
  expect(c['tls']!.status).toBe('skip'); // plain http on loopback
  expect(c['config']!.summary).toMatch(/valid and owned by you, mode 0600/);
  expect(c['egress_proxy']!.summary).toMatch(
    /IdP localhost:\d+ via direct; gateway 127\.0\.0\.1:\d+ via direct/,
  );
  expect(c['dns']!.summary).toMatch(/IdP localhost:\d+ → 127\.0\.0\.1/);
  expect(c['tcp']!.summary).toMatch(/port \d+ open/);
  expect(c['discovery']!.summary).toContain(`issuer ${disc.url} matches`);
  expect(c['scopes']!.summary).toMatch(/default scopes openid profile email offline_access, all offered/);
  expect(c['callback_port']!.summary).toContain(`port ${callbackPort} is free`);
  expect(c['secret_store']!.summary).toMatch(/^file: private files in /);
  expect(c['token']!.summary).toMatch(
    /refresh token stored; access token valid until .*aud gatepass-gateway, scope openid offline_access/,
  );
  expect(c['gateway']!.summary).toMatch(/GET .*\/v1\/models: HTTP 200/);
  expect(gw.requests.some((r) => r.path === '/v1/models' && r.subject === 'alice')).toBe(true);
  expect(c['helpers']!.summary).toBe('token helpers start: claude');
  expect(c['proxy']!.summary).toMatch(/running and healthy/);
  // Never a token in the report.
  const token = JSON.parse(
    readFileSync(
      path.join(
        t.home,
        '.local/share/gatepass/secrets',
        `${oidcSecretKey(gw.url, { issuer: disc.url, client_id: 'doctor-client' })}_AT`,
      ),
      'utf8',
    ),
  ).access_token;
  expect(ok.stdout + ok.stderr).not.toContain(token);
  expect(ok.stdout + ok.stderr).not.toContain('refresh-token-doctor-test');

  // Text: one aligned line per check, then the tally.
  const text = await runGatepass(['doctor'], { env: t.env, timeoutMs: 60_000 });
  expect(text.code).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines).toHaveLength(14);
  expect(lines[0]).toMatch(/^PASS {2}config {9}\//);
  expect(lines[7]).toMatch(/^PASS {2}callback_port {2}login callback port/);
  expect(lines[13]).toMatch(/^provider default: 12 passed, 0 warnings, 0 failed, 1 skipped$/);

  // Warnings (exit 0): a scope the IdP does not list, a token for another audience than configured.
  const api = ['openid', 'offline_access', 'api://gw/.default'];
  await configure(t, ['--scopes', api.join(','), '--audience', 'other-gateway']);
  seedTokens(t, gw.url, disc.url, await disc.sign(), api, 'other-gateway');
  const warned = await doctor(t);
  expect(warned.code, warned.stdout).toBe(0);
  expect(warned.checks['scopes']).toMatchObject({ status: 'warn' });
  expect(warned.checks['scopes']!.summary).toContain("not in the IdP's scopes_supported: api://gw/.default");
  expect(warned.checks['token']).toMatchObject({ status: 'warn' });
  expect(warned.checks['token']!.summary).toContain('not for the configured audience other-gateway');
  expect((await runGatepass(['config', 'unset', 'oidc.audience'], { env: t.env })).code).toBe(0);

  // Break several things at once: the IdP's discovery names another issuer and drops
  // offline_access, the callback port is taken, the gateway refuses the token, the install the
  // helper points at is gone, the proxy is stopped; and the server text carries control characters.
  disc.issuer = 'https://evil.example/\u001b[31mred';
  disc.scopes = ['openid', 'profile', 'email'];
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(callbackPort, '127.0.0.1', r));
  closers.push(() => new Promise((r) => holder.close(() => r())));
  gw.override = (_req, res) => {
    res.writeHead(401, 'Unauthorized').end('{"error":"invalid token"}');
    return true;
  };
  rmSync(app, { recursive: true, force: true });
  expect((await runGatepass(['proxy', 'stop'], { env: t.env })).code).toBe(0);
  const cfg = await runGatepass(['config', 'set', '--scopes', 'openid,offline_access'], { env: t.env });
  expect(cfg.code, cfg.stderr).toBe(0);
  seedTokens(t, gw.url, disc.url, await disc.sign(), ['openid', 'offline_access']); // the key follows the scopes

  const bad = await doctor(t);
  expect(bad.code).toBe(1);
  const b = bad.checks;
  expect(b['discovery']).toMatchObject({ status: 'fail' });
  expect(b['discovery']!.summary).toContain(`names issuer https://evil.example/`);
  expect(b['discovery']!.summary).toContain(`the config says ${disc.url}`);
  expect(bad.stdout).not.toContain('\\u001b');
  expect(b['scopes']).toMatchObject({ status: 'fail' });
  expect(b['scopes']!.summary).toMatch(
    /configured scopes openid offline_access: the IdP does not offer offline_access/,
  );
  expect(b['scopes']!.fix).toContain('gatepass config set --scopes');
  expect(b['callback_port']).toMatchObject({ status: 'fail' });
  expect(b['callback_port']!.summary).toContain(`port ${callbackPort}`);
  expect(b['callback_port']!.fix).toContain('--callback-port');
  expect(b['token']!.status).toBe('pass');
  expect(b['gateway']).toMatchObject({ status: 'fail' });
  expect(b['gateway']!.summary).toMatch(/HTTP 401 Unauthorized.*rejected the token/);
  expect(b['gateway']!.fix).toContain('`gatepass login`');
  expect(b['helpers']).toMatchObject({ status: 'fail' });
  expect(b['helpers']!.summary).toMatch(/claude: .*old-install/);
  expect(b['helpers']!.fix).toContain('gatepass setup --tools claude');
  expect(b['proxy']).toMatchObject({ status: 'fail' });
  expect(b['proxy']!.summary).toMatch(/not running.*gemini needs it/);
  expect(b['proxy']!.fix).toContain('gatepass proxy start');

  // An expired access token with a refresh token the IdP cannot refresh: the token check passes
  // (refreshed on next use), the gateway call fails on the refresh; no browser, no login.
  const opened = path.join(t.home, 'browser-opened');
  const browser = { GATEPASS_BROWSER: `touch ${opened}` };
  const atFile = path.join(
    t.home,
    '.local/share/gatepass/secrets',
    `${oidcSecretKey(gw.url, { issuer: disc.url, client_id: 'doctor-client', scopes: ['openid', 'offline_access'] })}_AT`,
  );
  const rec = JSON.parse(readFileSync(atFile, 'utf8'));
  writeFileSync(atFile, JSON.stringify({ ...rec, expires_at: Math.floor(Date.now() / 1000) - 60 }), {
    mode: 0o600,
  });
  const stale = await doctor(t, [], browser);
  expect(stale.checks['token']!.status).toBe('pass');
  expect(stale.checks['token']!.summary).toMatch(/access token expired at .*\(refreshed on next use\)/);
  expect(stale.checks['gateway']!.status).toBe('fail');
  expect(stale.checks['gateway']!.summary).toMatch(/^no token for the gateway call: /);

  // No token at all: the token and gateway checks fail with `gatepass login`, and no browser opens.
  unseedTokens(t);
  const none = await doctor(t, [], browser);
  expect(none.checks['token']).toMatchObject({ status: 'fail', fix: 'run `gatepass login`' });
  expect(none.checks['token']!.summary).toMatch(/not logged in/);
  expect(none.checks['gateway']!.status).toBe('fail');
  expect(none.checks['gateway']!.fix).toContain('gatepass login');
  expect(existsSync(opened)).toBe(false);

  // A secret store that cannot be used (the keychain demanded, no D-Bus session here).
  const store = await doctor(t, [], { GATEPASS_SECRET_STORE: 'keychain' });
  expect(store.checks['secret_store']).toMatchObject({ status: 'fail' });
  expect(store.checks['secret_store']!.summary).toMatch(/secret store \(keychain\) is not usable/);
  expect(store.checks['secret_store']!.fix).toMatch(/GATEPASS_SECRET_STORE/);

  // A config someone else can write: refused, with the chmod fix.
  const { chmodSync } = await import('node:fs');
  chmodSync(t.configFile, 0o666);
  const trust = await doctor(t);
  expect(trust.checks['config']).toMatchObject({ status: 'fail' });
  expect(trust.checks['config']!.summary).toMatch(/writable by everyone/);
  expect(trust.checks['config']!.fix).toContain('chmod go-w');
}, 120_000);

it('network: DNS and TCP failures, an egress proxy down (named, credentials hidden), then through it with the CA', async () => {
  const gwTls = await startFakeGateway({ tls: ca.server });
  closers.push(gwTls.close);
  const closed = await freePort();
  const t = home();
  await configure(t, [
    '--gateway-url',
    'https://gw.doctor.invalid',
    '--issuer',
    `http://127.0.0.1:${closed}/idp`,
  ]);
  const down = await doctor(t);
  expect(down.code).toBe(1);
  expect(down.checks['dns']).toMatchObject({ status: 'fail' });
  expect(down.checks['dns']!.summary).toMatch(
    /gateway gw\.doctor\.invalid: cannot resolve gw\.doctor\.invalid \((ENOTFOUND|EAI_AGAIN)\)/,
  );
  expect(down.checks['tcp']).toMatchObject({ status: 'fail' });
  expect(down.checks['tcp']!.summary).toContain(
    `IdP 127.0.0.1:${closed}: cannot connect to port ${closed} (ECONNREFUSED)`,
  );
  expect(down.checks['discovery']!.status).toBe('skip');

  // The gateway only reachable through an egress proxy (with credentials) that is down.
  const proxy = await startConnectProxy({
    hosts: { 'gw.corp.test:443': { host: '127.0.0.1', port: gwTls.port } },
    auth: { username: 'corp', password: 'pr0xy-s3cret' },
  });
  closers.push(proxy.close);
  await proxy.down();
  const withProxy = { HTTPS_PROXY: `http://corp:pr0xy-s3cret@127.0.0.1:${proxy.port}` };
  await configure(t, ['--gateway-url', 'https://gw.corp.test']);
  const pdown = await doctor(t, [], withProxy);
  expect(pdown.checks['egress_proxy']).toMatchObject({ status: 'fail' });
  expect(pdown.checks['egress_proxy']!.summary).toContain(
    `gateway gw.corp.test via http://***@127.0.0.1:${proxy.port} (HTTPS_PROXY/HTTP_PROXY)`,
  );
  expect(pdown.checks['egress_proxy']!.summary).toMatch(/does not accept connections \(ECONNREFUSED\)/);
  expect(pdown.checks['egress_proxy']!.fix).toMatch(/HTTPS_PROXY/);
  expect(pdown.checks['dns']!.summary).toContain('gateway gw.corp.test: resolved by the egress proxy');
  expect(pdown.stdout + pdown.stderr).not.toContain('pr0xy-s3cret');

  // Proxy up: the tunnel works, but the gateway's certificate is from a CA the system does not
  // trust: TLS fails with the --ca-file hint. With --ca-file it passes, through the proxy.
  await proxy.up();
  const untrusted = await doctor(t, [], withProxy);
  expect(untrusted.checks['egress_proxy']!.status).toBe('pass');
  expect(untrusted.checks['egress_proxy']!.summary).toContain(`via http://***@127.0.0.1:${proxy.port}`);
  expect(untrusted.checks['tls']).toMatchObject({ status: 'fail' });
  expect(untrusted.checks['tls']!.summary).toMatch(
    /gateway gw\.corp\.test: TLS certificate verification failed \(\w+\)/,
  );
  expect(untrusted.checks['tls']!.fix).toContain('--ca-file');
  const trusted = await doctor(t, ['--ca-file', ca.caFile], withProxy);
  expect(trusted.checks['tls']).toMatchObject({ status: 'pass' });
  expect(trusted.checks['tls']!.summary).toContain(
    `gateway gw.corp.test: trusted (system roots + ${ca.caFile})`,
  );
  expect(proxy.tunnels['gw.corp.test:443']).toBeGreaterThanOrEqual(1);
  expect(trusted.stdout + trusted.stderr).not.toContain('pr0xy-s3cret');

  // --config and --provider select what is checked: another file's provider "work" (a command
  // provider: no IdP checks), and a provider that does not exist.
  const alt = path.join(t.home, 'alt', 'gatepass.yaml');
  const set = await runGatepass(
    [
      '--config',
      alt,
      'config',
      'set',
      '--provider',
      'work',
      '--type',
      'command',
      '--gateway-url',
      `https://127.0.0.1:${gwTls.port}`,
      '--token-command',
      'echo not-a-jwt',
    ],
    { env: t.env },
  );
  expect(set.code, set.stderr).toBe(0);
  const work = await doctor(t, ['--config', alt, '--provider', 'work', '--ca-file', ca.caFile], {}, 'work');
  expect(work.checks['config']!.summary).toContain(`${alt} is valid`);
  expect(work.checks['config']!.summary).toContain('provider "work" (command)');
  expect(work.checks['discovery']!.status).toBe('skip');
  expect(work.checks['tls']!.summary).toMatch(/^gateway 127\.0\.0\.1:\d+: trusted/);
  expect(work.checks['gateway']!.summary).toMatch(/HTTP 200/);
  // An unknown provider is a usage error, as for every command (exit 2, naming it).
  const nope = await runGatepass(['--config', alt, '--provider', 'nope', 'doctor', '--json'], { env: t.env });
  expect(nope.code, nope.stderr).toBe(2);
  expect(nope.stderr).toMatch(/nope/);
}, 120_000);
