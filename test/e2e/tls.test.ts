/**
 * TLS options against a real HTTPS IdP (oidc-provider behind node:https) and an HTTPS gateway, both
 * with a certificate from a throwaway CA made by `openssl` in the test: without the option the error
 * names the TLS failure and --ca-file; with --ca-file (one-off or configured) login, refresh and the
 * proxy work; with --tls-skip-verify they work and a loud warning is printed every time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

let ca: TestCa;
let idp: TestIdp;
let hook: BrowserHook;
let gw: FakeGateway;
let home: OidcHome;

/** The `sub` of a JWT, unverified (the gateway here only needs to see which user called). */
const subOf = (token: string) =>
  String((JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub);

beforeAll(async () => {
  ca = makeTestCa();
  idp = await startTestIdp({ tls: ca.server });
  hook = await startBrowserHook({ login: 'tess', ignoreHttpsErrors: true });
  gw = await startFakeGateway({ tls: ca.server, verify: subOf });
  home = await configureOidcHome(idp, hook, { GATEPASS_INTERACTIVE: '0' });
  const r = await runGatepass(['config', 'set', '--gateway-url', gw.url], { env: home.env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  if (home) {
    await runGatepass(['proxy', 'stop'], { env: home.env });
    home.cleanup();
  }
  await gw?.close();
  await hook?.close();
  await idp?.close();
  ca?.cleanup();
});

const config = () =>
  parse(readFileSync(home.configFile, 'utf8')) as { providers: Record<string, { tls?: unknown }> };

describe('TLS options (HTTPS IdP and gateway with a private CA)', () => {
  it('without a CA the login fails with a clear TLS error naming --ca-file', async () => {
    const r = await runGatepass(['login', '--timeout', '20'], { env: home.env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /TLS certificate verification failed for the identity provider at https:\/\/127\.0\.0\.1:\d+ \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)/,
    );
    expect(r.stderr).toMatch(/hint: .*--ca-file/);
    expect(hook.urls()).toEqual([]);
  });

  it('login --ca-file (one-off) logs in over TLS and leaves the config without it', async () => {
    const r = await runGatepass(['login', '--ca-file', ca.caFile], { env: home.env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    await hook.waitForLogins(1);
    expect(hook.errors()).toEqual([]);
    expect(r.stderr).not.toMatch(/WARNING/);
    expect(config().providers['default']!.tls).toBeUndefined();
  });

  it('config set --ca-file: refresh works over TLS; bad CA files are refused', async () => {
    const bad = path.join(ca.dir, 'not-a-cert.pem');
    writeFileSync(bad, 'hello\n');
    let r = await runGatepass(['config', 'set', '--ca-file', bad], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid tls\.ca_file: .*holds no PEM certificate/);
    r = await runGatepass(['config', 'set', '--ca-file', path.join(ca.dir, 'missing.pem')], {
      env: home.env,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist/);

    r = await runGatepass(['config', 'set', '--ca-file', ca.caFile], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(config().providers['default']!.tls).toEqual({ ca_file: ca.caFile });

    home.expireCachedToken();
    const refreshes = idp.grantCount('refresh_token');
    r = await runGatepass(['token'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^eyJ/);
    expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
  });

  it('the proxy reaches the HTTPS gateway with the CA, and says why without it', async () => {
    const port = await freePort();
    const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
      env: home.env,
    });
    expect(start.code, start.stderr).toBe(0);
    const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
    const ask = () =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'over tls' }] }),
      });
    let res = await ask();
    expect(res.status, await res.clone().text()).toBe(200);
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
        .content,
    ).toBe('echo: over tls');
    expect(gw.requests.at(-1)?.subject).toBe('tess');
    await runGatepass(['proxy', 'stop'], { env: home.env });

    // Without the CA: a 502 that names the TLS failure and the fix.
    let r = await runGatepass(['config', 'unset', 'tls.ca_file'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(config().providers['default']!.tls).toBeUndefined();
    r = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    res = await ask();
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/TLS certificate verification failed for the gateway.*--ca-file/);
    await runGatepass(['proxy', 'stop'], { env: home.env });

    // --tls-skip-verify (one-off): works, with the warning.
    r = await runGatepass(['proxy', 'start', '--background', '--port', String(port), '--tls-skip-verify'], {
      env: home.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: TLS certificate verification is OFF/);
    res = await ask();
    expect(res.status).toBe(200);
    await runGatepass(['proxy', 'stop'], { env: home.env });
  });

  it('--tls-skip-verify: refresh works and warns loudly each time', async () => {
    home.expireCachedToken();
    let r = await runGatepass(['token'], { env: home.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TLS certificate verification failed/);

    r = await runGatepass(['token', '--tls-skip-verify'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^eyJ[\w.-]+\n$/);
    expect(r.stderr).toMatch(/WARNING: TLS certificate verification is OFF.*local development only/i);

    r = await runGatepass(['config', 'set', '--tls-skip-verify'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: TLS certificate verification is OFF/);
    expect(config().providers['default']!.tls).toEqual({ skip_verify: true });
    home.expireCachedToken();
    r = await runGatepass(['token'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: TLS certificate verification is OFF/);
    r = await runGatepass(['config', 'set', '--tls-skip-verify', 'false'], { env: home.env });
    expect(r.code, r.stderr).toBe(0);
    expect(config().providers['default']!.tls).toBeUndefined();
  });
});
