/**
 * Lazy first-request login through the proxy, end to end: the built CLI runs `gatepass proxy start
 * --background` for an OIDC provider that never logged in; concurrent OpenAI SDK requests arrive;
 * the proxy opens ONE browser login (real Debian Chromium driven through the real oidc-provider
 * IdP's pages), every request completes once it finishes, and the fake gateway verifies the IdP's
 * JWT against its JWKS.
 *
 * It needs the OIDC token source and its test helpers (IdP, browser hook); where they are not built
 * yet, it is skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runGatepass } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';

const HELPERS = ['idp', 'browser', 'oidc-home', 'ports'].map((n) => path.join(ROOT, `test/helpers/${n}.ts`));
const available =
  HELPERS.every((f) => existsSync(f)) &&
  !readFileSync(path.join(ROOT, 'src/auth/oidc/source.ts'), 'utf8').startsWith('// SCAFFOLD');

// Loaded at run time: these helpers come with the OIDC work.
// biome-ignore lint/suspicious/noExplicitAny: helper modules resolved at run time
const load = (name: string): Promise<any> =>
  import(/* @vite-ignore */ path.join(ROOT, `test/helpers/${name}.ts`));

describe.skipIf(!available)('proxy lazy login (real IdP, real browser)', () => {
  // biome-ignore lint/suspicious/noExplicitAny: see load()
  let idp: any;
  // biome-ignore lint/suspicious/noExplicitAny: see load()
  let hook: any;
  // biome-ignore lint/suspicious/noExplicitAny: see load()
  let home: any;
  let gw: FakeGateway;

  beforeAll(async () => {
    const { startTestIdp } = await load('idp');
    const { startBrowserHook } = await load('browser');
    const { configureOidcHome } = await load('oidc-home');
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
    const { freePort } = await load('ports');
    const port: number = await freePort();
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
