/**
 * Zero-config end to end, with real parts: `gatepass setup --gateway-url URL` alone (plus a free
 * callback port) against a gateway that publishes its protected resource metadata (RFC 9728) and
 * verifies every bearer JWT — signature by the IdP's keys, issuer, and `aud` equal to its own
 * resource identifier — and the real oidc-provider with open Dynamic Client Registration whose
 * access tokens are for the resource the client named (RFC 8707). Setup registers gatepass, signs
 * in through headless Chromium, and the token it stores is one the gateway accepts; the resource is
 * sent on the authorization request, the code exchange and the refresh, whose token the gateway
 * accepts too. Without the resource indicator the IdP issues tokens for its default resource
 * (https://gateway.gatepass.test/), which this gateway refuses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import YAML from 'yaml';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, ROOT, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';

let idp: TestIdp;
let hook: BrowserHook;
let gw: FakeGateway;
let t: TempHome;
beforeAll(async () => {
  [idp, hook] = await Promise.all([
    startTestIdp({ registration: true, audienceFromResource: true }),
    startBrowserHook(),
  ]);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  gw = await startFakeGateway({
    verify: async (token) => {
      const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: gw.url });
      return String(payload.sub);
    },
  });
  gw.override = (req, res) => {
    if (req.url !== '/.well-known/oauth-protected-resource') return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ resource: gw.url, authorization_servers: [idp.issuer], resource_name: 'LLM' }));
    return true;
  };
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', ...hook.env });
});
afterAll(async () => {
  await gw?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

/** The one-line setup of the README's "Zero-config" section, as words. */
function readmeZeroConfig(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Zero-config$/m)[1]?.split(/^## /m)[0];
  const lines = section
    ?.match(/```sh\n([\s\S]*?)```/)?.[1]
    ?.split('\n')
    .filter((l) => l.trim());
  if (!lines) throw new Error('README.md has no ```sh block under "## Zero-config"');
  expect(lines).toHaveLength(1);
  return lines[0]!.trim().split(/\s+/);
}

const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });
const models = (token: string) =>
  fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });

it("the README's one-line setup (--gateway-url alone) registers, signs in, and the gateway accepts the token (and the refreshed one)", async () => {
  const words = readmeZeroConfig();
  expect(words).toEqual(['gatepass', 'setup', '--gateway-url', 'https://llm.corp.example']);
  // Only the callback port is set beforehand (a free one: tests run side by side).
  const port = await freePort();
  expect((await gp(['config', 'set', '--callback-port', String(port)])).code).toBe(0);
  const setup = await gp([...words.slice(1, 3), gw.url]);
  expect(setup.code, setup.stderr).toBe(0);
  await hook.waitForLogins(1, 30_000);
  expect(hook.errors()).toEqual([]);
  const clientId = idp.registeredClients.at(-1);
  expect(clientId).toBeTruthy();
  expect(setup.stderr).toContain(`registered gatepass at ${idp.issuer} as client ${clientId}`);
  expect(setup.stderr).toContain('Signed in.');

  const cfg = YAML.parse(readFileSync(t.configFile, 'utf8'));
  expect(cfg.providers.default.oidc).toMatchObject({
    issuer: idp.issuer,
    client_id: clientId,
    resource: gw.url,
  });
  // The registered client id signed in, asking for the gateway's resource at every step.
  const auth = idp.authRequests.at(-1)!;
  expect(auth.get('client_id')).toBe(clientId);
  expect(auth.get('resource')).toBe(gw.url);
  expect(auth.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
  const code = idp.tokenRequestParams.find((p) => p.get('grant_type') === 'authorization_code')!;
  expect(code.get('resource')).toBe(gw.url);

  const first = await gp(['token']);
  expect(first.code, first.stderr).toBe(0);
  const token = first.stdout.trim();
  expect(decodeJwt(token).aud).toBe(gw.url);
  expect((await models(token)).status).toBe(200);

  // Refresh: the cached access token looks expired; the refresh grant carries the resource too.
  const key = cfg.providers.default.token_ref.secret_key as string;
  const atFile = path.join(t.home, '.local/share/gatepass/secrets', `${key}_AT`);
  const rec = JSON.parse(readFileSync(atFile, 'utf8')) as { expires_at?: number };
  rec.expires_at = Math.floor(Date.now() / 1000) - 10;
  writeFileSync(atFile, JSON.stringify(rec), { mode: 0o600 });
  const refreshes = idp.grantCount('refresh_token');
  const second = await gp(['token']);
  expect(second.code, second.stderr).toBe(0);
  expect(idp.grantCount('refresh_token')).toBe(refreshes + 1);
  const refresh = idp.tokenRequestParams.filter((p) => p.get('grant_type') === 'refresh_token').at(-1)!;
  expect(refresh.get('resource')).toBe(gw.url);
  const refreshed = second.stdout.trim();
  expect(refreshed).not.toBe(token);
  expect(decodeJwt(refreshed).aud).toBe(gw.url);
  expect((await models(refreshed)).status).toBe(200);
});
