/**
 * Lazy first-request login through the proxy, end to end, on both HTTP engines: the built CLI runs
 * `gatepass proxy start --background` for an OIDC provider that never logged in; concurrent OpenAI
 * SDK requests arrive; the proxy opens ONE browser login (real Debian Chromium driven through the
 * real oidc-provider IdP's pages), every request completes once it finishes, and the fake gateway
 * verifies the IdP's JWT against the IdP's JWKS. Then the official OpenAI and Anthropic SDKs,
 * streaming and not, go through the same proxy with the IdP's token and no further login.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';

describe('proxy lazy login (real IdP, real browser)', () => {
  let idp: TestIdp;
  let hook: BrowserHook;
  let gw: FakeGateway;
  const homes: OidcHome[] = [];

  beforeAll(async () => {
    idp = await startTestIdp();
    hook = await startBrowserHook({ login: 'erin' });
    gw = await startFakeGateway({ jwksUrl: idp.jwksUri, issuer: idp.issuer });
  });
  afterAll(async () => {
    for (const home of homes) {
      await runGatepass(['proxy', 'stop'], { env: home.env });
      home.cleanup();
    }
    await gw?.close();
    await hook?.close();
    await idp?.close();
  });

  for (const engine of ['wire', 'node'] as const) {
    it(`${engine} engine: concurrent first requests wait for one browser login, then the official SDKs all succeed`, async () => {
      // A fresh HOME that never logged in.
      const home = await configureOidcHome(idp, hook, { GATEPASS_PROXY_ENGINE: engine });
      homes.push(home);
      const set = await runGatepass(['config', 'set', '--gateway-url', gw.url], { env: home.env });
      expect(set.code, set.stderr).toBe(0);
      gw.requests.length = 0;

      const port = await freePort();
      const start = await runGatepass(['proxy', 'start', '--background', '--port', String(port)], {
        env: home.env,
      });
      expect(start.code, start.stderr).toBe(0);
      const url = start.stdout.trim();
      expect(url).toBe(`http://127.0.0.1:${port}`);
      const health = await request(`${url}/.gatepass/health`);
      expect(await health.body.json()).toMatchObject({ ok: true, engine });
      // The proxy created the local key in the (file) secret store.
      const key = readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
      expect(key).toMatch(/^gp_local_/);

      const before = hook.logins();
      const openai = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 90_000 });
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `lazy ${i}` }] }),
        ),
      );
      expect(replies.map((r) => r.choices[0]!.message.content)).toEqual(
        Array.from({ length: 5 }, (_, i) => `echo: lazy ${i}`),
      );
      await hook.waitForLogins(before + 1);
      expect(hook.logins()).toBe(before + 1);
      expect(hook.errors()).toEqual([]);
      expect(gw.requests.map((r) => r.subject)).toEqual(Array(5).fill('erin'));

      // Logged in now: later requests need no browser. OpenAI streaming:
      const stream = await openai.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'after login' }],
        stream: true,
      });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe('echo: after login');

      // Anthropic, non-streaming and streaming, with the local key as its API key.
      const anthropic = new Anthropic({ apiKey: key, baseURL: url, maxRetries: 0, timeout: 90_000 });
      const m = await anthropic.messages.create({
        model: 'claude-test',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi claude' }],
      });
      expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: hi claude' });
      const ms = anthropic.messages.stream({
        model: 'claude-test',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'stream claude' }],
      });
      let streamed = '';
      ms.on('text', (t) => {
        streamed += t;
      });
      expect((await ms.finalMessage()).stop_reason).toBe('end_turn');
      expect(streamed).toBe('echo: stream claude');

      expect(hook.logins()).toBe(before + 1);
      // Every request reached the gateway with the IdP's token, verified against its JWKS.
      expect(gw.requests.map((r) => r.subject)).toEqual(Array(8).fill('erin'));
      for (const r of gw.requests) {
        expect(r.headers['x-api-key']).toBeUndefined();
        expect(JSON.stringify(r.headers)).not.toContain(key);
      }
      expect(gw.requests.at(-1)!.headers['anthropic-version']).toBeDefined();

      const stop = await runGatepass(['proxy', 'stop'], { env: home.env });
      expect(stop.code, stop.stderr).toBe(0);
    });
  }
});
