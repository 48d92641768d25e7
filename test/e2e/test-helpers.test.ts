/** The shared test helpers themselves: a real IdP, a real Secret Service, a real headless browser. */

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserHook } from '../helpers/browser.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { keyringAvailable, startTestKeyring } from '../helpers/keyring.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

describe('test helpers', () => {
  it('startTestIdp serves discovery and counts requests', async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta['issuer']).toBe(idp.issuer);
    expect(meta['revocation_endpoint']).toBeTruthy();
    expect(meta['device_authorization_endpoint']).toBeTruthy();
    expect(idp.counts.requests).toBeGreaterThan(0);
    await idp.down();
    await expect(fetch(`${idp.issuer}/jwks`)).rejects.toThrow();
    await idp.up();
    expect((await fetch(`${idp.issuer}/jwks`)).status).toBe(200);
  });

  it.runIf(keyringAvailable())('startTestKeyring gives a working Secret Service', async () => {
    const kr = await startTestKeyring();
    try {
      expect(kr.read('missing')).toBeUndefined();
    } finally {
      await kr.close();
    }
  });

  it('startBrowserHook logs in on the IdP pages and reaches the callback', async () => {
    const hook = await startBrowserHook();
    let code: string | null = null;
    const cb = http.createServer((req, res) => {
      // Browsers also ask for /favicon.ico: only the callback path counts.
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/callback') code = u.searchParams.get('code');
      res.end('callback reached');
    });
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
    const port = (cb.address() as AddressInfo).port;
    try {
      const verifier = randomBytes(32).toString('base64url');
      const url = new URL(`${idp.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: idp.clientId,
        response_type: 'code',
        scope: 'openid offline_access',
        redirect_uri: `http://127.0.0.1:${port}/callback`,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        state: 'st',
      }).toString();
      const [cmd, ...args] = hook.env.GATEPASS_BROWSER.split(' ');
      await new Promise((r) => execFile(cmd!, [...args, url.toString()], r));
      await hook.waitForLogins(1, 30_000);
      expect(hook.errors()).toEqual([]);
      expect(code).toBeTruthy();
      expect(hook.lastPageText()).toContain('callback reached');
    } finally {
      await hook.close();
      cb.close();
    }
  });
});
