/**
 * Zero-config setup (`gatepass setup --gateway-url URL` alone) against the real oidc-provider with
 * Dynamic Client Registration on, and a gateway serving its OAuth Protected Resource Metadata
 * (RFC 9728) on the host's root, in the path-inserted form for a gateway under a path prefix, or
 * only through the `WWW-Authenticate: Bearer resource_metadata=…` of its 401. Then the error paths:
 * a gateway without metadata, an authorization server without registration, and hostile metadata
 * (a plain-http issuer, control characters, another host's resource). `--lazy` keeps the browser
 * out of it: the sign-in itself is in test/e2e/zero-config-login.test.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';

interface MetadataGateway {
  url: string;
  /** Path → [status, headers, body] answered; anything else 404 (or `fallback`). */
  routes: Map<string, { status: number; headers?: Record<string, string>; body?: unknown }>;
  hits: string[];
  close(): Promise<void>;
}

async function startMetadataGateway(): Promise<MetadataGateway> {
  const routes: MetadataGateway['routes'] = new Map();
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.push(path);
    const r = routes.get(path);
    if (!r) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
    res.end(r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let idp: TestIdp;
let plainIdp: TestIdp;
let secretIdp: TestIdp;
let gw: MetadataGateway;
let t: TempHome;
beforeAll(async () => {
  [idp, plainIdp, secretIdp, gw] = await Promise.all([
    startTestIdp({ registration: true }),
    startTestIdp(),
    startTestIdp({ registration: true, secretOnly: true }),
    startMetadataGateway(),
  ]);
});
afterAll(async () => {
  await Promise.all([idp?.close(), plainIdp?.close(), secretIdp?.close(), gw?.close()]);
});
beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file' });
  gw.routes.clear();
  gw.hits.length = 0;
});
afterEach(() => t.cleanup());

const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 60_000 });
const provider = () =>
  (
    YAML.parse(readFileSync(t.configFile, 'utf8')) as {
      providers: Record<string, Record<string, Record<string, unknown>>>;
    }
  ).providers['default']!;
const prm = (resource: string, issuer = idp.issuer, extra: object = {}) => ({
  status: 200,
  body: { resource, authorization_servers: [issuer], ...extra },
});

describe('zero-config setup', () => {
  it('root metadata: --dry-run shows what it found and registers nothing; setup registers once, re-runs do not', async () => {
    gw.routes.set(
      '/.well-known/oauth-protected-resource',
      prm(gw.url, idp.issuer, { scopes_supported: ['llm'] }),
    );
    const before = idp.registeredClients.length;

    const dry = await gp(['setup', '--gateway-url', gw.url, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(
      `${gw.url}/.well-known/oauth-protected-resource names the authorization server ${idp.issuer}`,
    );
    expect(dry.stderr).toContain(`the resource ${gw.url}`);
    expect(dry.stderr).toMatch(
      /would register gatepass as a public client at http:\/\/127\.0\.0\.1:\d+\/reg/,
    );
    expect(idp.registeredClients.length).toBe(before);
    expect(existsSync(t.configFile)).toBe(false);

    const real = await gp(['setup', '--gateway-url', gw.url, '--lazy']);
    expect(real.code, real.stderr).toBe(0);
    expect(idp.registeredClients.length).toBe(before + 1);
    const clientId = idp.registeredClients.at(-1)!;
    expect(real.stderr).toContain(`registered gatepass at ${idp.issuer} as client ${clientId}`);
    const p = provider();
    expect(p['gateway_url']).toBe(gw.url);
    expect(p['oidc']).toMatchObject({
      issuer: idp.issuer,
      client_id: clientId,
      resource: gw.url,
      scopes: ['openid', 'profile', 'email', 'offline_access', 'llm'],
    });
    expect(p['models_pending']).toBe(true);

    // Persisted like typed flags: a re-run neither looks at the metadata nor registers again.
    gw.hits.length = 0;
    const again = await gp(['setup', '--lazy']);
    expect(again.code, again.stderr).toBe(0);
    expect(idp.registeredClients.length).toBe(before + 1);
    expect(gw.hits.filter((h) => h.includes('oauth-protected-resource'))).toEqual([]);
    expect(provider()['oidc']!['client_id']).toBe(clientId);
  });

  it('a gateway under a path prefix: the path-inserted well-known URL (RFC 9728 §3.1)', async () => {
    const gateway = `${gw.url}/llm/v2`;
    // The resource exactly as the metadata names it (here with a trailing slash).
    gw.routes.set('/.well-known/oauth-protected-resource/llm/v2', prm(`${gateway}/`));
    const r = await gp(['setup', '--gateway-url', gateway, '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(gw.hits[0]).toBe('/.well-known/oauth-protected-resource/llm/v2');
    expect(provider()['oidc']).toMatchObject({ issuer: idp.issuer, resource: `${gateway}/` });
    expect(provider()['oidc']!['client_id']).toBe(idp.registeredClients.at(-1));
  });

  it('a gateway under a path prefix publishing it on its own root (/prefix/.well-known/…)', async () => {
    const gateway = `${gw.url}/llm`;
    gw.routes.set('/llm/.well-known/oauth-protected-resource', prm(gateway));
    const r = await gp(['setup', '--gateway-url', gateway, '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(provider()['oidc']).toMatchObject({ issuer: idp.issuer, resource: gateway });
  });

  it('only through the 401 of a request without a token (WWW-Authenticate resource_metadata)', async () => {
    const gateway = `${gw.url}/llm`;
    gw.routes.set('/llm/v1/models', {
      status: 401,
      headers: {
        'www-authenticate': `Bearer realm="llm", resource_metadata="${gw.url}/meta/llm-prm.json", error="invalid_token"`,
      },
      body: { error: 'unauthorized' },
    });
    gw.routes.set('/meta/llm-prm.json', prm(gateway));
    const r = await gp(['setup', '--gateway-url', gateway, '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `${gw.url}/meta/llm-prm.json (named by the gateway's 401) names the authorization server`,
    );
    expect(provider()['oidc']).toMatchObject({ issuer: idp.issuer, resource: gateway });
    expect(provider()['oidc']!['client_id']).toBe(idp.registeredClients.at(-1));
  });

  it('an issuer given with the gateway URL: no metadata is read, only the client is registered', async () => {
    const before = idp.registeredClients.length;
    const r = await gp(['setup', '--gateway-url', gw.url, '--issuer', idp.issuer, '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(gw.hits.filter((h) => h.includes('oauth-protected-resource'))).toEqual([]);
    expect(idp.registeredClients.length).toBe(before + 1);
    expect(provider()['oidc']!['client_id']).toBe(idp.registeredClients.at(-1));
    expect(provider()['oidc']!['resource']).toBeUndefined();
  });
});

describe('zero-config setup: a server that registers only confidential clients', () => {
  it('registers with client_secret_basic; the secret goes to the secret store, only its key to the config', async () => {
    gw.routes.set('/.well-known/oauth-protected-resource', prm(gw.url, secretIdp.issuer));
    const r = await gp(['setup', '--gateway-url', gw.url, '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(its secret is in the secret store)');
    const clientId = secretIdp.registeredClients.at(-1)!;
    const oidc = provider()['oidc']!;
    expect(oidc['client_id']).toBe(clientId);
    expect(oidc['client_secret']).toMatch(/^LLM_OIDC_CS_[0-9a-f]{8}$/);
    const secretFile = path.join(t.home, '.local/share/gatepass/secrets', String(oidc['client_secret']));
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThan(16);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(t.configFile, 'utf8')).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  });
});

describe('zero-config setup: errors', () => {
  it('a gateway without metadata: exit 1 naming --issuer and --client-id; nothing written', async () => {
    const r = await gp(['setup', '--gateway-url', `${gw.url}/llm`, '--lazy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('publishes no OAuth protected resource metadata');
    expect(r.stderr).toContain(`--gateway-url ${gw.url}/llm --issuer <issuer URL> --client-id <client id>`);
    expect(r.stderr).toContain(`${gw.url}/.well-known/oauth-protected-resource/llm`);
    expect(existsSync(t.configFile)).toBe(false);
  });

  it('an authorization server without registration: exit 1 naming the client id and its redirect URI', async () => {
    gw.routes.set('/.well-known/oauth-protected-resource', prm(gw.url, plainIdp.issuer));
    const r = await gp(['setup', '--gateway-url', gw.url, '--callback-port', '18765', '--lazy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${plainIdp.issuer} does not offer dynamic client registration`);
    expect(r.stderr).toContain(
      'client id of a public client (PKCE, no secret) with the redirect URI http://127.0.0.1:18765/callback',
    );
    expect(r.stderr).toContain(`--client-id <client id>`);
    expect(existsSync(t.configFile)).toBe(false);
  });

  it('hostile metadata: a plain-http issuer, control characters, another origin: refused, never echoed raw', async () => {
    const before = idp.registeredClients.length;
    const cases: Array<[object, RegExp]> = [
      [
        { resource: gw.url, authorization_servers: ['http://sso.corp.example.com'] },
        /unusable authorization server http:\/\/sso\.corp\.example\.com .*must use https/,
      ],
      [
        { resource: gw.url, authorization_servers: [`${idp.issuer}\u001b[31m`] },
        /unusable authorization server .*control characters/,
      ],
      [
        { resource: `${gw.url}\u0007`, authorization_servers: [idp.issuer] },
        /unusable "resource".*control characters/,
      ],
      [
        { resource: 'https://other.example.com', authorization_servers: [idp.issuer] },
        /about another resource \(https:\/\/other\.example\.com\)/,
      ],
      [{ resource: gw.url, authorization_servers: [] }, /names no authorization server/],
    ];
    for (const [body, message] of cases) {
      gw.routes.set('/.well-known/oauth-protected-resource', { status: 200, body });
      const r = await gp(['setup', '--gateway-url', gw.url, '--lazy']);
      expect(r.code, JSON.stringify(body)).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/[\u0007\u001b]/);
      expect(existsSync(t.configFile)).toBe(false);
    }
    // A 401 naming metadata on another host (which would pick the IdP) is refused too.
    gw.routes.clear();
    gw.routes.set('/v1/models', {
      status: 401,
      headers: { 'www-authenticate': 'Bearer resource_metadata="https://evil.example.net/prm"' },
    });
    const r = await gp(['setup', '--gateway-url', gw.url, '--lazy']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is on another host than the gateway');
    expect(idp.registeredClients.length).toBe(before);
  });
});
