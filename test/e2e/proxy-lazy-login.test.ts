/**
 * Lazy first-request login through the proxy, end to end: the built CLI runs `gatepass proxy start
 * --background` for an OIDC provider that never logged in; concurrent OpenAI SDK requests arrive;
 * the proxy opens ONE browser login (real Debian Chromium driven through the real oidc-provider
 * IdP's pages), every request completes once it finishes, and the fake gateway verifies the IdP's
 * JWT against its JWKS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';

describe('proxy lazy login (real IdP, real browser)', () => {
  let idp: TestIdp;
  let hook: BrowserHook;
  let home: Awaited<ReturnType<typeof configureOidcHome>>;
  let gw: FakeGateway;

  beforeAll(async () => {
    idp = await startTestIdp();
    hook = await startBrowserHook({ login: 'erin' });
    gw = await startFakeGateway({ jwksUrl: idp.jwksUri, issuer: idp.issuer });
    home = await configureOidcHome(idp, hook);
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
  });

  it('concurrent first requests wait for one browser login, then all succeed', async () => {
    const port = await freePort();
    const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
      env: home.env,
    });
    expect(start.code, start.stderr).toBe(0);
    const url = start.stdout.trim();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    // The proxy created the local key in the (file) secret store.
    const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
    expect(key).toMatch(/^gp_local_/);

    const before = hook.logins();
    const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 90_000 });
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `lazy ${i}` }] }),
      ),
    );
    expect(replies.map((r) => r.choices[0]!.message.content)).toEqual(
      Array.from({ length: 5 }, (_, i) => `echo: lazy ${i}`),
    );
    await hook.waitForLogins(before + 1);
    expect(hook.logins()).toBe(before + 1);
    expect(hook.errors()).toEqual([]);
    expect(gw.requests.map((r) => r.subject)).toEqual(Array(5).fill('erin'));

    // Logged in now: later requests need no browser.
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'after login' }],
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: after login');
    expect(hook.logins()).toBe(before + 1);
  });
});
