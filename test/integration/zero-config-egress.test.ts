/**
 * Zero-config behind a corporate network: the gateway (`https://gateway.corp.test`, serving its
 * protected resource metadata) and the IdP (`https://idp.corp.test`, oidc-provider with open
 * registration) are reachable only through a real CONNECT proxy named by HTTPS_PROXY (with
 * credentials), and their certificates chain to a private CA given with --ca-file. The metadata, the
 * IdP's discovery and the registration all go through the proxy and trust that CA; without the CA
 * setup fails naming --ca-file; the proxy password never appears in the output.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type ConnectProxy, startConnectProxy } from '../helpers/connect-proxy.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

const PASSWORD = 'Zc-pr0xy-s3cret';
const IDP = 'https://idp.corp.test';
const GATEWAY = 'https://gateway.corp.test';
let ca: TestCa;
let idp: TestIdp;
let gw: FakeGateway;
let egress: ConnectProxy;
let t: TempHome;

beforeAll(async () => {
  ca = makeTestCa(['idp.corp.test', 'gateway.corp.test']);
  idp = await startTestIdp({ tls: ca.server, issuerOrigin: IDP, registration: true });
  gw = await startFakeGateway({ tls: ca.server, verify: (token) => token });
  gw.override = (req, res) => {
    if (req.url !== '/.well-known/oauth-protected-resource') return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ resource: GATEWAY, authorization_servers: [IDP] }));
    return true;
  };
  egress = await startConnectProxy({
    hosts: {
      'idp.corp.test:443': { host: '127.0.0.1', port: idp.port },
      'gateway.corp.test:443': { host: '127.0.0.1', port: gw.port },
    },
    auth: { username: 'corp', password: PASSWORD },
  });
}, 60_000);
afterAll(async () => {
  await egress?.close();
  await gw?.close();
  await idp?.close();
  ca?.cleanup();
});
beforeEach(() => {
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    HTTPS_PROXY: `http://corp:${PASSWORD}@127.0.0.1:${egress.port}`,
  });
});
afterEach(() => t.cleanup());

const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 60_000 });

it('metadata, discovery and registration go through HTTPS_PROXY and trust --ca-file', async () => {
  const before = { ...egress.tunnels };
  const r = await gp(['setup', '--gateway-url', GATEWAY, '--ca-file', ca.caFile, '--lazy']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toContain(PASSWORD);
  const clientId = idp.registeredClients.at(-1);
  expect(clientId).toBeTruthy();
  const oidc = YAML.parse(readFileSync(t.configFile, 'utf8')).providers.default.oidc;
  expect(oidc).toMatchObject({ issuer: IDP, client_id: clientId, resource: GATEWAY });
  expect(egress.tunnels['gateway.corp.test:443'] ?? 0).toBeGreaterThan(before['gateway.corp.test:443'] ?? 0);
  expect(egress.tunnels['idp.corp.test:443'] ?? 0).toBeGreaterThan(before['idp.corp.test:443'] ?? 0);
});

it('without the private CA: a TLS failure naming --ca-file, nothing registered or written', async () => {
  const registered = idp.registeredClients.length;
  const r = await gp(['setup', '--gateway-url', GATEWAY, '--lazy']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(
    'TLS certificate verification failed for the gateway at https://gateway.corp.test (UNABLE_TO_VERIFY_LEAF_SIGNATURE) while reading its protected resource metadata',
  );
  expect(r.stderr).toContain('--ca-file /path/to/ca.pem');
  expect(r.stderr).not.toContain(PASSWORD);
  expect(idp.registeredClients.length).toBe(registered);
});
