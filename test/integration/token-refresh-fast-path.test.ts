/**
 * The refresh fast path (src/cli/fast-refresh.ts, dist/refresh.js): which `gatepass token` calls it
 * serves, that it refreshes like the full command (one grant, tokens and token_ref saved), and that
 * dist/cli.js answers exactly as the full CLI (GATEPASS_TOKEN_FAST_PATH=0) does when the IdP
 * refuses or fails. The IdP is a small loopback server answering discovery and refresh_token grants
 * (the real IdP's refreshes, through this path too, are in test/e2e/oidc-refresh.test.ts).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refreshToken } from '../../src/cli/fast-refresh.js';
import { resolvePaths } from '../../src/config/paths.js';
import { readFreshSnapshot } from '../../src/config/snapshot.js';
import { makeTempHome, type RunResult, runGatepass, type TempHome } from '../helpers/cli.js';

let server: http.Server;
let issuer: string;
let mode: 'ok' | 'invalid_grant' | 'down' = 'ok';
let grants = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
        return;
      }
      if (req.url !== '/token' || !/grant_type=refresh_token/.test(body)) {
        res.writeHead(404).end();
        return;
      }
      grants++;
      if (mode === 'down') {
        res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>down</h1>');
      } else if (mode === 'invalid_grant') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'refresh token expired' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(
          JSON.stringify({
            access_token: `fresh-access-token-${grants}`,
            refresh_token: `rotated-refresh-token-${grants}`,
            token_type: 'Bearer',
            expires_in: 3600,
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let t: TempHome;
let secretKey: string;
const secretsDir = () => path.join(resolvePaths({ env: t.env }).stateDir, 'secrets');
const configFile = () => resolvePaths({ env: t.env }).configFile;
const storeRefreshToken = (rt: string) =>
  writeFileSync(path.join(secretsDir(), secretKey), rt, { mode: 0o600 });
const dropAccessToken = () => rmSync(path.join(secretsDir(), `${secretKey}_AT`), { force: true });

beforeEach(async () => {
  mode = 'ok';
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', GATEPASS_INTERACTIVE: '0' });
  const set = await runGatepass(
    [
      'config',
      'set',
      '--gateway-url',
      'https://llm.example.com',
      '--issuer',
      issuer,
      '--client-id',
      'gatepass',
    ],
    { env: t.env },
  );
  expect(set.code, set.stderr).toBe(0);
  const paths = resolvePaths({ env: t.env });
  secretKey = readFreshSnapshot(paths.configFile)!.secret_keys['default']!;
  // A first refresh through the full CLI records token_ref, as after any login.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(secretsDir(), { recursive: true, mode: 0o700 });
  storeRefreshToken('first-refresh-token');
  const first = await runGatepass(['token'], { env: { ...t.env, GATEPASS_TOKEN_FAST_PATH: '0' } });
  expect(first.code, first.stderr).toBe(0);
  expect(readFileSync(configFile(), 'utf8')).toMatch(/token_ref:/);
  dropAccessToken();
});
afterEach(() => t.cleanup());

describe('the refresh fast path', () => {
  it('refreshes in this process: one grant, the rotated refresh token, the access token and token_ref saved', async () => {
    const before = grants;
    const answer = await refreshToken(['token', '--format', 'json'], t.env);
    expect(answer?.exitCode, answer?.stderr).toBe(0);
    expect(grants).toBe(before + 1);
    const out = JSON.parse(answer!.stdout) as { token: string; expires_at: number };
    expect(out.token).toBe(`fresh-access-token-${grants}`);
    expect(readFileSync(path.join(secretsDir(), secretKey), 'utf8')).toBe(`rotated-refresh-token-${grants}`);
    expect(JSON.parse(readFileSync(path.join(secretsDir(), `${secretKey}_AT`), 'utf8')).access_token).toBe(
      out.token,
    );
    const config = readFileSync(configFile(), 'utf8');
    expect(config).toContain(`expires_at: ${out.expires_at}`);
    expect(config).not.toContain(out.token);
    // The next call is a cache hit: no grant.
    const again = await runGatepass(['token'], { env: t.env });
    expect(again.stdout).toBe(`${out.token}\n`);
    expect(grants).toBe(before + 1);
  });

  it('leaves interactive calls, proxies and TLS options to the full CLI', async () => {
    expect(await refreshToken(['token', '--interactive'], t.env)).toBeUndefined();
    expect(await refreshToken(['token', '--skip-browser'], t.env)).toBeUndefined();
    expect(await refreshToken(['token'], { ...t.env, GATEPASS_INTERACTIVE: '1' })).toBeUndefined();
    expect(await refreshToken(['token'], { ...t.env, HTTPS_PROXY: 'http://127.0.0.1:9' })).toBeUndefined();
    expect(await refreshToken(['token'], { ...t.env, GATEPASS_VERBOSE: '1' })).toBeUndefined();
    expect(await refreshToken(['token', '--bogus'], t.env)).toBeUndefined();
    const { code } = await runGatepass(['config', 'set', '--tls-skip-verify'], { env: t.env });
    expect(code).toBe(0);
    expect(await refreshToken(['token'], t.env)).toBeUndefined();
  });

  it('never serves a provider that never logged in (the full command may start a login)', async () => {
    const text = readFileSync(configFile(), 'utf8').replace(/\n\s+token_ref:[\s\S]*$/, '\n');
    writeFileSync(configFile(), text, { mode: 0o600 });
    await runGatepass(['config', 'show'], { env: t.env }); // refreshes the snapshot
    expect(readFileSync(configFile(), 'utf8')).not.toContain('token_ref');
    expect(await refreshToken(['token'], t.env)).toBeUndefined();
  });
});

describe('dist/cli.js answers as the full CLI does', () => {
  /** One run each way from the same state; they must agree on exit code and stderr. */
  async function both(args: string[], reset: () => void): Promise<[RunResult, RunResult]> {
    reset();
    const fast = await runGatepass(args, { env: t.env });
    reset();
    const full = await runGatepass(args, { env: { ...t.env, GATEPASS_TOKEN_FAST_PATH: '0' } });
    expect({ code: fast.code, stderr: fast.stderr }).toEqual({ code: full.code, stderr: full.stderr });
    return [fast, full];
  }
  const reset = () => {
    storeRefreshToken('some-refresh-token');
    dropAccessToken();
  };

  it('a successful refresh: the new token, nothing on stderr', async () => {
    const [fast, full] = await both(['token'], reset);
    expect(fast.code).toBe(0);
    expect(fast.stdout).toMatch(/^fresh-access-token-\d+\n$/);
    expect(full.stdout).toMatch(/^fresh-access-token-\d+\n$/);
    expect(fast.stderr).toBe('');
  });

  it('invalid_grant: the same warning and error, the stale refresh token removed', async () => {
    mode = 'invalid_grant';
    const [fast] = await both(['token'], reset);
    expect(fast.code).toBe(1);
    expect(fast.stdout).toBe('');
    expect(fast.stderr).toContain('invalid_grant');
    expect(fast.stderr).toContain('gatepass login');
  });

  it('the IdP failing with a 503: the same error, nothing on stdout, the refresh token kept', async () => {
    mode = 'down';
    const [fast] = await both(['token'], reset);
    expect(fast.code).toBe(1);
    expect(fast.stdout).toBe('');
    expect(fast.stderr).toContain('HTTP 503');
    expect(readFileSync(path.join(secretsDir(), secretKey), 'utf8')).toBe('some-refresh-token');
  });

  it('no refresh token stored: the same "authentication required" error', async () => {
    const [fast] = await both(['token'], () => {
      rmSync(path.join(secretsDir(), secretKey), { force: true });
      dropAccessToken();
    });
    expect(fast.code).not.toBe(0);
    expect(fast.stderr).toContain('gatepass login');
  });
});
