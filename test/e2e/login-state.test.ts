/**
 * Login state with the real IdP (oidc-provider) and real headless Chromium:
 *  - re-running setup with a cached token, or an expired access token and a valid refresh token,
 *    opens no browser (the refresh grant runs instead);
 *  - status shows the signed-in identity from the ID token and agrees with `token` (an expired but
 *    refreshable access token is logged in; a logged-out provider is not, and status exits 1);
 *  - after `gatepass logout`, `gatepass token` (both paths) and the proxy refuse with "you are
 *    logged out" and no browser; `gatepass login` ends that.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { loggedInOidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';
import { oidcSetupFlags } from '../helpers/tool-e2e.js';

let idp: TestIdp;
let hook: BrowserHook;
let gw: FakeGateway;
const homes: TempHome[] = [];
beforeAll(async () => {
  [idp, hook] = await Promise.all([startTestIdp(), startBrowserHook({ login: 'alice' })]);
  gw = await startFakeGateway({ jwksUrl: idp.jwksUri, issuer: idp.issuer });
});
afterAll(async () => {
  for (const h of homes) {
    await runGatepass(['proxy', 'stop'], { env: h.env });
    h.cleanup();
  }
  await gw?.close();
  await hook?.close();
  await idp?.close();
});

function expireAccessToken(t: TempHome): void {
  const key = /secret_key: (LLM_OAUTH_[0-9a-f]{8})/.exec(readFileSync(t.configFile, 'utf8'))![1]!;
  const file = path.join(t.home, '.local/share/gatepass/secrets', `${key}_AT`);
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  rec.expires_at = Math.floor(Date.now() / 1000) - 10;
  writeFileSync(file, JSON.stringify(rec), { mode: 0o600 });
}

it('re-running setup reuses a cached or refreshable token and opens no browser', async () => {
  // A failed attempt to open a login must fail fast, not wait 5 minutes.
  const t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', GATEPASS_LOGIN_TIMEOUT: '20', ...hook.env });
  homes.push(t);
  mkdirSync(path.join(t.home, '.claude'));
  const flags = await oidcSetupFlags(gw.url, idp, 'claude');
  const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });
  const first = await gp(['setup', ...flags]);
  expect(first.code, first.stderr).toBe(0);
  await hook.waitForLogins(1, 10_000);
  const urls = hook.urls().length;

  const second = await gp(['setup', ...flags]);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).toContain('Already signed in');
  expect(hook.urls().length).toBe(urls);

  expireAccessToken(t);
  const refreshes = idp.grantCount('refresh_token');
  const third = await gp(['setup', ...flags]);
  expect(third.code, third.stderr).toBe(0);
  expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
  expect(hook.urls().length).toBe(urls);
});

it('status shows who signed in; after logout token and the proxy refuse without a browser; login ends it', async () => {
  const home = await loggedInOidcHome(idp, hook, { GATEPASS_LOGIN_TIMEOUT: '20' });
  homes.push(home);
  const gp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runGatepass(args, { env: { ...home.env, ...env }, timeoutMs: 60_000 });
  expect((await gp(['config', 'set', '--gateway-url', gw.url])).code).toBe(0);
  // config set with a new gateway drops the login: sign in again for this gateway.
  expect((await gp(['login'])).code).toBe(0);

  const st = await gp(['status']);
  expect(st.code, st.stdout).toBe(0);
  expect(st.stdout).toMatch(/logged in as alice@example\.test \(sub alice\), access token valid until /);
  const js = JSON.parse((await gp(['status', '--json'])).stdout);
  expect(js.providers[0]).toMatchObject({ logged_in: true, logged_out: false, identity: { sub: 'alice' } });
  expect(JSON.stringify(js)).not.toMatch(/eyJ/);

  // An expired access token with a refresh token is logged in, as `token` sees it.
  home.expireCachedToken();
  const expired = await gp(['status', '--json']);
  expect(expired.code).toBe(0);
  expect(JSON.parse(expired.stdout).providers[0]).toMatchObject({ logged_in: true, token_expired: true });

  const urls = hook.urls().length;
  const out = await gp(['logout']);
  expect(out.code, out.stderr).toBe(0);
  const st2 = await gp(['status', '--json']);
  expect(st2.code).toBe(1);
  expect(JSON.parse(st2.stdout).providers[0]).toMatchObject({
    logged_in: false,
    logged_out: true,
    identity: null,
  });

  for (const fast of ['1', '0']) {
    const tok = await gp(['token'], { GATEPASS_TOKEN_FAST_PATH: fast });
    expect(tok.code).toBe(1);
    expect(tok.stdout).toBe('');
    expect(tok.stderr).toContain('you are logged out: run `gatepass login`');
  }
  // Even a tool asking interactively (Claude Desktop's interactive context) gets no login.
  const inter = await gp(['token', '--interactive']);
  expect(inter.code).toBe(1);
  expect(inter.stderr).toContain('you are logged out');

  // The proxy: 401 in the client's dialect, naming gatepass login; no browser either.
  const port = await freePort();
  const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
  expect(start.code, start.stderr).toBe(0);
  const url = start.stdout.trim();
  const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
  const ask = () =>
    request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
  const refused = await ask();
  expect(refused.statusCode).toBe(401);
  const body = (await refused.body.json()) as { error: { message: string } };
  expect(body.error.message).toMatch(/you are logged out.*gatepass login/);
  expect(hook.urls().length).toBe(urls);

  // `gatepass login` ends the logged-out state: token and the (same) proxy work again.
  const login = await gp(['login']);
  expect(login.code, login.stderr).toBe(0);
  const tok = await gp(['token']);
  expect(tok.code, tok.stderr).toBe(0);
  expect(tok.stdout).toMatch(/^ey/);
  const ok = await ask();
  expect(ok.statusCode).toBe(200);
  await ok.body.dump();
  expect((await gp(['status'])).code).toBe(0);
});
