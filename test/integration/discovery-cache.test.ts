/**
 * The discovery document cache (src/auth/oidc/discovery-cache.ts) against a small discovery server
 * on loopback that counts its requests and sends the caching headers each test asks for.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { discoverFor } from '../../src/auth/oidc/client.js';
import { discoveryCacheFile, freshnessMs } from '../../src/auth/oidc/discovery-cache.js';
import type { OidcProvider } from '../../src/config/schema.js';
import { createMemoryStore } from '../../src/secrets/memory.js';

let server: http.Server;
let issuer: string;
let requests = 0;
let headers: Record<string, string> = {};
let advertisedIssuer: string | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    if (req.url !== '/.well-known/openid-configuration') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({
        issuer: advertisedIssuer ?? issuer,
        token_endpoint: `${issuer}/token`,
        authorization_endpoint: `${issuer}/auth`,
        jwks_uri: `${issuer}/jwks`,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let cacheDir: string;
let now = Date.now();
beforeEach(() => {
  cacheDir = mkdtempSync(path.join(tmpdir(), 'gatepass-disc-'));
  requests = 0;
  headers = {};
  advertisedIssuer = undefined;
  now = Date.now();
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

const provider = (): OidcProvider =>
  ({
    type: 'oidc',
    gateway_url: 'https://gw.example.test',
    oidc: { issuer, client_id: 'c' },
  }) as OidcProvider;

function ctx() {
  return {
    env: {},
    stderr: process.stderr,
    secrets: createMemoryStore(),
    paths: { cacheDir, configDir: cacheDir, configFile: '', stateDir: cacheDir, dataDir: cacheDir },
    now: () => now,
  };
}

const refreshDiscovery = () => discoverFor(ctx(), provider(), { useCache: true });

describe('discovery cache', () => {
  it('a second refresh does not fetch discovery; the file is 0600 in a 0700 dir', async () => {
    const first = await refreshDiscovery();
    expect(requests).toBe(1);
    const second = await refreshDiscovery();
    expect(requests).toBe(1);
    expect(second.serverMetadata().token_endpoint).toBe(`${issuer}/token`);
    expect(second.serverMetadata()).toEqual(first.serverMetadata());
    const file = discoveryCacheFile({ cacheDir }, issuer);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    // Without useCache (login): always fetched, and the cache rewritten.
    await discoverFor(ctx(), provider());
    expect(requests).toBe(2);
  });

  it('defaults to 24 hours without caching headers', async () => {
    await refreshDiscovery();
    now += 23 * 3600_000;
    await refreshDiscovery();
    expect(requests).toBe(1);
    now += 2 * 3600_000;
    await refreshDiscovery();
    expect(requests).toBe(2);
  });

  it('honours Cache-Control max-age (minus Age), and no-store', async () => {
    headers = { 'cache-control': 'public, max-age=120', age: '20' };
    await refreshDiscovery();
    now += 90_000;
    await refreshDiscovery();
    expect(requests).toBe(1);
    now += 20_000; // 110 s > 120 - 20
    await refreshDiscovery();
    expect(requests).toBe(2);
    headers = { 'cache-control': 'no-store' };
    rmSync(discoveryCacheFile({ cacheDir }, issuer));
    await refreshDiscovery();
    await refreshDiscovery();
    expect(requests).toBe(4);
  });

  it('a bad cached document is refetched (malformed, another issuer, no token endpoint)', async () => {
    await refreshDiscovery();
    const file = discoveryCacheFile({ cacheDir }, issuer);
    const good = JSON.parse(readFileSync(file, 'utf8')) as { metadata: Record<string, unknown> };
    writeFileSync(file, '{not json');
    await refreshDiscovery();
    expect(requests).toBe(2);
    writeFileSync(
      file,
      JSON.stringify({ ...good, metadata: { ...good.metadata, issuer: 'https://evil.test' } }),
    );
    await refreshDiscovery();
    expect(requests).toBe(3);
    const { token_endpoint: _dropped, ...noToken } = good.metadata;
    writeFileSync(file, JSON.stringify({ ...good, metadata: noToken }));
    await refreshDiscovery();
    expect(requests).toBe(4);
    // After each refetch the cache is good again.
    await refreshDiscovery();
    expect(requests).toBe(4);
  });

  it('an IdP announcing another issuer is refused and nothing is cached', async () => {
    advertisedIssuer = 'https://other.example.test';
    await expect(refreshDiscovery()).rejects.toThrow();
    advertisedIssuer = undefined;
    await refreshDiscovery();
    expect(requests).toBe(2);
  });

  it('freshness from Expires and Date', () => {
    const h = new Headers({
      date: 'Sun, 06 Dec 2026 10:00:00 GMT',
      expires: 'Sun, 06 Dec 2026 11:00:00 GMT',
    });
    expect(freshnessMs(h, 0)).toBe(3600_000);
    expect(freshnessMs(new Headers({ expires: 'garbage' }), 0)).toBe(0);
    expect(freshnessMs(new Headers({ 'cache-control': 'no-cache' }), 0)).toBe(0);
    expect(freshnessMs(new Headers(), 0)).toBeUndefined();
  });
});
