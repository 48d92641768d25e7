import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Pool, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN_TIMEOUT_MS } from '../../src/auth/oidc/source.js';
import { createLogger, silentLogger } from '../../src/log.js';
import {
  DEFAULT_TOKEN_WAIT_MS,
  loginBudgetMs,
  type ProxyEngine,
  type RunningProxy,
  startProxy,
} from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { endlessStream, type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { hasIpv6Loopback } from '../helpers/ports.js';
import { authRequired, startTestIssuer, type TestIssuer, TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
/** Every behaviour below is checked on both HTTP engines (set per describe block). */
let engine: ProxyEngine = 'wire';
let issuer: TestIssuer;
let gw: FakeGateway;
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience });
});
afterAll(async () => {
  await gw.close();
  await issuer.close();
});
afterEach(async () => {
  gw.override = undefined;
  gw.requests.length = 0;
  await Promise.all(proxies.splice(0).map((p) => p.close(100)));
});

async function proxy(
  source: TestTokenSource,
  extra: Partial<Parameters<typeof startProxy>[0]> = {},
): Promise<RunningProxy> {
  const p = await startProxy({
    tokenSource: source,
    gatewayUrl: gw.url,
    port: 0,
    localKey: KEY,
    logger: silentLogger,
    engine,
    ...extra,
  });
  proxies.push(p);
  expect(p.engine).toBe(engine);
  return p;
}

const jwtSource = (sub = 'alice') =>
  new TestTokenSource({ issue: () => issuer.sign({ sub }), expiresInMs: 3_600_000 });

/** Raw request through the proxy (undici, so Host/Origin are ours to set). */
async function raw(
  p: RunningProxy,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const res = await request(`http://127.0.0.1:${p.port}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers ?? {},
    body: init.body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

it('a request waits for a token longer than any login the token sources allow', () => {
  // OIDC: up to the login timeout waiting for another process's login, then its own.
  expect(DEFAULT_TOKEN_WAIT_MS).toBeGreaterThanOrEqual(loginBudgetMs(DEFAULT_LOGIN_TIMEOUT_MS));
});

for (const e of ['wire', 'node'] as const) {
  describe(`${e} engine`, () => {
    beforeEach(() => {
      engine = e;
    });

    describe('proxy with the official SDKs', () => {
      it('OpenAI chat completions, non-streaming and streaming; the gateway sees a verified JWT', async () => {
        const p = await proxy(jwtSource('alice'));
        const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
        const r = await client.chat.completions.create({
          model: 'test-model',
          messages: [{ role: 'user', content: 'hello there' }],
        });
        expect(r.choices[0]!.message.content).toBe('echo: hello there');
        const stream = await client.chat.completions.create({
          model: 'test-model',
          messages: [{ role: 'user', content: 'stream me please' }],
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe('echo: stream me please');
        const models = await client.models.list();
        expect(models.data[0]!.id).toBe('test-model');
        expect(gw.requests.map((x) => x.subject)).toEqual(['alice', 'alice', 'alice']);
        for (const rec of gw.requests) {
          expect(rec.headers['authorization']).toMatch(/^Bearer ey/);
          expect(JSON.stringify(rec.headers)).not.toContain(KEY);
        }
      });

      it('OpenAI responses API, streaming', async () => {
        const p = await proxy(jwtSource());
        const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
        const stream = await client.responses.create({ model: 'test-model', input: 'respond', stream: true });
        let text = '';
        for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
        expect(text).toBe('echo: respond');
      });

      it('Anthropic messages, non-streaming and streaming; anthropic-* headers pass through', async () => {
        const p = await proxy(jwtSource('bob'));
        const client = new Anthropic({ apiKey: KEY, baseURL: p.url, maxRetries: 0 });
        const m = await client.messages.create({
          model: 'claude-test',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'hi claude' }],
        });
        expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: hi claude' });
        const stream = client.messages.stream(
          { model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'stream it' }] },
          { headers: { 'anthropic-beta': 'test-beta-2025' } },
        );
        let text = '';
        stream.on('text', (t) => {
          text += t;
        });
        const final = await stream.finalMessage();
        expect(text).toBe('echo: stream it');
        expect(final.stop_reason).toBe('end_turn');
        expect(gw.requests.map((x) => x.subject)).toEqual(['bob', 'bob']);
        expect(gw.requests[1]!.headers['anthropic-version']).toBeDefined();
        expect(gw.requests[1]!.headers['anthropic-beta']).toBe('test-beta-2025');
        expect(gw.requests[1]!.headers['x-api-key']).toBeUndefined();
      });

      it('replaces every client credential with the bearer token; other headers and the body bytes pass unchanged', async () => {
        const p = await proxy(jwtSource('frank'), { maxReplayBytes: 8 * 1024 });
        gw.override = (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok');
          return true;
        };
        // A body the proxy buffers (replayable) and one it streams.
        for (const size of [4 * 1024, 64 * 1024]) {
          const body = randomBytes(size);
          const res = await request(`http://127.0.0.1:${p.port}/v1/messages?beta=true`, {
            method: 'POST',
            headers: {
              authorization: 'Bearer client-own-token',
              'x-api-key': KEY,
              'x-goog-api-key': 'client-goog-key',
              'anthropic-version': '2023-06-01',
              'anthropic-beta': 'tools-2024-04-04,prompt-caching-2024-07-31',
              'x-custom-header': 'kept as is',
              'user-agent': 'gatepass-test/1.0',
              'content-type': 'application/octet-stream',
            },
            body,
          });
          expect(res.statusCode).toBe(200);
          expect(await res.body.text()).toBe('ok');
          const rec = gw.requests.at(-1)!;
          expect(rec.subject).toBe('frank');
          expect(rec.headers['authorization']).toMatch(/^Bearer ey[\w-]+\.[\w-]+\.[\w-]+$/);
          expect(rec.headers['x-api-key']).toBeUndefined();
          expect(rec.headers['x-goog-api-key']).toBeUndefined();
          expect(rec.headers).toMatchObject({
            'anthropic-version': '2023-06-01',
            'anthropic-beta': 'tools-2024-04-04,prompt-caching-2024-07-31',
            'x-custom-header': 'kept as is',
            'user-agent': 'gatepass-test/1.0',
            'content-type': 'application/octet-stream',
          });
          for (const secret of [KEY, 'client-own-token', 'client-goog-key']) {
            expect(JSON.stringify(rec.headers)).not.toContain(secret);
          }
          expect(rec.url).toBe('/v1/messages?beta=true');
          expect(rec.rawBody.equals(body), `${size}-byte body`).toBe(true);
        }
        expect(gw.requests).toHaveLength(2);
      });

      it('keeps the gateway URL path prefix and strips ?key=', async () => {
        const p = await proxy(jwtSource(), { gatewayUrl: `${gw.url}/gateway` });
        const r = await raw(p, '/v1/models?key=' + KEY + '&alt=sse');
        expect(r.status).toBe(200);
        expect(gw.requests[0]!.url).toBe('/gateway/v1/models?alt=sse');
      });

      it('strips the local key from the query under every spelling it accepts; other bytes kept', async () => {
        const p = await proxy(jwtSource(), { gatewayUrl: `${gw.url}/gateway` });
        // Before: the guard (URLSearchParams) accepted %6bey= but the stripper only removed key=.
        for (const q of [
          `%6bey=${KEY}`,
          `k%65y=${KEY}&alt=sse`,
          `key=x&a=%20b+c&key=${KEY}`,
          `%6B%65%79=${KEY}`,
        ]) {
          const r = await raw(p, `/v1/models?${q}`);
          expect(r.status, q).toBe(200);
        }
        const urls = gw.requests.map((r) => r.url);
        expect(urls).toEqual([
          '/gateway/v1/models',
          '/gateway/v1/models?alt=sse',
          '/gateway/v1/models?a=%20b+c',
          '/gateway/v1/models',
        ]);
        for (const u of urls) expect(u).not.toContain(KEY);
        // A spelling the guard does not accept is not a key: refused, and nothing is forwarded.
        expect((await raw(p, `/v1/models?KEY=${KEY}`)).status).toBe(403);
        expect(gw.requests).toHaveLength(4);
      });
    });

    describe('local protection', () => {
      it('refuses a non-loopback Host (DNS rebinding) with 403 JSON', async () => {
        const source = jwtSource();
        const p = await proxy(source);
        const r = await raw(p, '/v1/models', {
          headers: { host: 'evil.example', authorization: `Bearer ${KEY}` },
        });
        expect(r.status).toBe(403);
        expect(r.json().error.message).toMatch(/Host/);
        const r2 = await raw(p, '/v1/models', {
          headers: { host: `127.0.0.1:${p.port + 1}`, 'x-api-key': KEY },
        });
        expect(r2.status).toBe(403);
        expect(gw.requests).toHaveLength(0);
        expect(source.calls).toBe(0);
      });

      it('refuses browser requests carrying Origin, even with the key', async () => {
        const p = await proxy(jwtSource());
        const r = await raw(p, '/v1/messages', {
          method: 'POST',
          headers: { origin: 'https://evil.example', 'x-api-key': KEY, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(r.status).toBe(403);
        expect(r.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
        expect(gw.requests).toHaveLength(0);
      });

      it('requires the local proxy key', async () => {
        const p = await proxy(jwtSource());
        expect((await raw(p, '/v1/models')).status).toBe(403);
        expect((await raw(p, '/v1/models', { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
        const g = await raw(p, '/v1beta/models/gemini:generateContent', {
          method: 'POST',
          headers: { 'x-goog-api-key': 'nope' },
        });
        expect(g.status).toBe(403);
        expect(g.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
        expect((await raw(p, '/v1/models', { headers: { 'x-goog-api-key': KEY } })).status).toBe(200);
        expect((await raw(p, `/v1/models?key=${KEY}`)).status).toBe(200);
        expect(gw.requests).toHaveLength(2);
      });

      it('answers the health endpoint without key or token; names its pid only to the key holder', async () => {
        const source = new TestTokenSource({ fail: authRequired() });
        const p = await proxy(source, { providerName: 'corp' });
        const r = await raw(p, '/.gatepass/health');
        expect(r.status).toBe(200);
        expect(r.json()).toMatchObject({ ok: true, provider: 'corp' });
        expect(r.json()).not.toHaveProperty('pid');
        const keyed = await raw(p, '/.gatepass/health', { headers: { 'x-api-key': KEY } });
        expect(keyed.json()).toMatchObject({ ok: true, provider: 'corp', pid: process.pid });
        expect(source.calls).toBe(0);
      });

      it('listens on 127.0.0.1 and on ::1 (when the machine has IPv6 loopback), on the same port', async () => {
        const p = await proxy(jwtSource());
        const v6 = await hasIpv6Loopback();
        expect(p.addresses).toEqual(v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
        expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
        const hosts = v6 ? ['127.0.0.1', '[::1]'] : ['127.0.0.1'];
        for (const host of hosts) {
          // undici sends Host: [::1]:port, a loopback name the guard accepts.
          const res = await request(`http://${host}:${p.port}/v1/models`, { headers: { 'x-api-key': KEY } });
          expect(res.statusCode, host).toBe(200);
          await res.body.text();
        }
        expect(gw.requests).toHaveLength(hosts.length);
      });
    });

    describe('token errors and refresh', () => {
      it('no token → 401 in the dialect of the path, naming gatepass login', async () => {
        const p = await proxy(new TestTokenSource({ fail: authRequired() }));
        const o = await raw(p, '/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}` },
          body: '{}',
        });
        expect(o.status).toBe(401);
        expect(o.json()).toMatchObject({ error: { type: 'authentication_error' } });
        expect(o.json().error.message).toMatch(/gatepass login/);
        const a = await raw(p, '/v1/messages', { method: 'POST', headers: { 'x-api-key': KEY }, body: '{}' });
        expect(a.status).toBe(401);
        expect(a.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
        expect(a.json().error.message).toMatch(/gatepass login/);
        const g = await raw(p, '/v1beta/models/gemini-pro:streamGenerateContent?alt=sse', {
          method: 'POST',
          headers: { 'x-goog-api-key': KEY },
          body: '{}',
        });
        expect(g.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
        const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
        await expect(client.models.list()).rejects.toMatchObject({ status: 401 });
      });

      it('after an upstream 401 it invalidates, refreshes once and retries the replayable request', async () => {
        let n = 0;
        // The first token is signed for the wrong audience, so the gateway rejects it.
        const source = new TestTokenSource({
          issue: () => issuer.sign(++n === 1 ? { audience: 'someone-else' } : { sub: 'carol' }),
          expiresInMs: 3_600_000,
        });
        const p = await proxy(source);
        const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
        const r = await client.chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'again' }],
        });
        expect(r.choices[0]!.message.content).toBe('echo: again');
        expect(source.calls).toBe(2);
        expect(source.invalidated).toHaveLength(1);
        expect(source.requests[1]!.forceRefresh).toBe(true);
        expect(gw.requests.map((x) => x.subject)).toEqual([undefined, 'carol']);
        expect(gw.requests[0]!.body).toBe(gw.requests[1]!.body);
      });

      it('retries only once: a second 401 reaches the client unchanged', async () => {
        const source = new TestTokenSource({ expiresInMs: 3_600_000 }); // not JWTs: always rejected
        const p = await proxy(source);
        const r = await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } });
        expect(r.status).toBe(401);
        expect(r.json().error.code).toBe('invalid_api_key'); // the gateway's own body
        expect(source.calls).toBe(2);
      });

      it('concurrent first requests share one token fetch (one login)', async () => {
        const source = new TestTokenSource({
          issue: () => issuer.sign(),
          expiresInMs: 3_600_000,
          delayMs: 300,
        });
        const p = await proxy(source);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => raw(p, '/v1/models', { headers: { 'x-api-key': KEY } })),
        );
        expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
        expect(source.calls).toBe(1);
        expect(source.requests[0]!.interactive).toBe(true);
      });

      it('a slow login is not cut off by the client going away; the next request gets its token', async () => {
        const source = new TestTokenSource({
          issue: () => issuer.sign(),
          expiresInMs: 3_600_000,
          delayMs: 500,
        });
        const p = await proxy(source);
        const ac = new AbortController();
        const first = request(`http://127.0.0.1:${p.port}/v1/models`, {
          headers: { 'x-api-key': KEY },
          signal: ac.signal,
        });
        setTimeout(() => ac.abort(), 100);
        await expect(first).rejects.toThrow();
        const r = await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } });
        expect(r.status).toBe(200);
        expect(source.calls).toBe(1);
      });

      it('a slow first login is not cut off by the gateway timeouts: the request completes once it finishes', async () => {
        const source = new TestTokenSource({
          issue: () => issuer.sign({ sub: 'gina' }),
          expiresInMs: 3_600_000,
          delayMs: 1_500,
        });
        const p = await proxy(source, { upstreamTimeoutMs: 200, connectTimeoutMs: 200 });
        const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
        const r = await client.chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'after a slow login' }],
        });
        expect(r.choices[0]!.message.content).toBe('echo: after a slow login');
        expect(source.calls).toBe(1);
        expect(gw.requests.map((x) => x.subject)).toEqual(['gina']);
      });

      it('past tokenWaitMs a waiting request gets 401 naming gatepass login; the login goes on for the next', async () => {
        const source = new TestTokenSource({
          issue: () => issuer.sign(),
          expiresInMs: 3_600_000,
          delayMs: 1_000,
        });
        const p = await proxy(source, { tokenWaitMs: 200 });
        const r = await raw(p, '/v1/messages', { method: 'POST', headers: { 'x-api-key': KEY }, body: '{}' });
        expect(r.status).toBe(401);
        expect(r.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
        expect(r.json().error.message).toMatch(/timed out .*gatepass login/);
        expect(gw.requests).toHaveLength(0);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect((await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } })).status).toBe(200);
        expect(source.calls).toBe(1);
      });

      it('a body too large to replay is not retried after an upstream 401: the 401 reaches the client unchanged', async () => {
        const source = new TestTokenSource({ expiresInMs: 3_600_000 }); // not JWTs: always rejected
        const p = await proxy(source, { maxReplayBytes: 16 });
        const r = await raw(p, '/v1/chat/completions', {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100) }] }),
        });
        expect(r.status).toBe(401);
        expect(r.json().error.code).toBe('invalid_api_key'); // the gateway's own body
        expect(source.calls).toBe(1);
        expect(gw.requests).toHaveLength(1);
      });

      it('refreshes proactively in the background before expiry', async () => {
        const source = new TestTokenSource({ issue: () => issuer.sign(), expiresInMs: 1_000 });
        const p = await proxy(source, { refreshSkewMs: 0 });
        expect((await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } })).status).toBe(200);
        expect(source.calls).toBe(1);
        // 1 s left, no skew: the background refresh runs after 1 s, not interactively, asking for
        // more than the 10 minutes of the TTL invariant.
        await new Promise((r) => setTimeout(r, 1_500));
        expect(source.calls).toBe(2);
        expect(source.requests[1]).toMatchObject({ interactive: false, minValidityMs: 605_000 });
        // The next request uses the refreshed token without asking again.
        expect((await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } })).status).toBe(200);
        expect(source.calls).toBe(2);
      });
    });

    describe('upstream behaviour', () => {
      it('passes upstream 5xx through unchanged', async () => {
        const p = await proxy(jwtSource());
        gw.override = (_req, res) => {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
          res.end('{"error":{"message":"overloaded","type":"overloaded_error"}}');
          return true;
        };
        const r = await raw(p, '/v1/chat/completions', {
          method: 'POST',
          headers: { 'x-api-key': KEY },
          body: '{}',
        });
        expect(r.status).toBe(503);
        expect(r.headers['retry-after']).toBe('7');
        expect(r.text).toBe('{"error":{"message":"overloaded","type":"overloaded_error"}}');
      });

      it('upstream down → 502 JSON', async () => {
        const dead = http.createServer();
        await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
        const port = (dead.address() as AddressInfo).port;
        await new Promise((r) => dead.close(r));
        const p = await proxy(jwtSource(), { gatewayUrl: `http://127.0.0.1:${port}` });
        const r = await raw(p, '/v1/messages', { method: 'POST', headers: { 'x-api-key': KEY }, body: '{}' });
        expect(r.status).toBe(502);
        expect(r.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
        const client = new Anthropic({ apiKey: KEY, baseURL: p.url, maxRetries: 0 });
        await expect(
          client.messages.create({ model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }),
        ).rejects.toMatchObject({ status: 502 });
      });

      it('slow upstream → 504 JSON', async () => {
        const p = await proxy(jwtSource(), { upstreamTimeoutMs: 300 });
        gw.override = () => true; // never answers
        const r = await raw(p, '/v1/chat/completions', {
          method: 'POST',
          headers: { 'x-api-key': KEY },
          body: '{}',
        });
        expect(r.status).toBe(504);
        expect(r.json().error.type).toBe('timeout_error');
      });

      it('client abort mid-stream cancels the upstream request', async () => {
        const p = await proxy(jwtSource());
        gw.override = (_req, res) => {
          endlessStream(gw, res);
          return true;
        };
        const before = gw.abortedStreams;
        const ac = new AbortController();
        const res = await request(`http://127.0.0.1:${p.port}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: '{"stream":true}',
          signal: ac.signal,
        });
        expect(res.headers['content-type']).toBe('text/event-stream');
        let seen = 0;
        await expect(
          (async () => {
            for await (const chunk of res.body) {
              seen += (chunk as Buffer).length;
              if (seen > 50) ac.abort();
            }
          })(),
        ).rejects.toThrow();
        await expect.poll(() => gw.abortedStreams, { timeout: 3000 }).toBe(before + 1);
        expect(gw.openStreams).toBe(0);
      });

      it('client abort before the gateway answers cancels the upstream request', async () => {
        const p = await proxy(jwtSource());
        let upstreamCut = false;
        gw.override = (_req, res) => {
          res.once('close', () => {
            upstreamCut = !res.writableFinished;
          });
          return true; // never answers
        };
        const ac = new AbortController();
        const pending = request(`http://127.0.0.1:${p.port}/v1/messages`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: '{"model":"m"}',
          signal: ac.signal,
        });
        await expect.poll(() => gw.requests.length, { timeout: 3000 }).toBe(1);
        ac.abort();
        await expect(pending).rejects.toThrow();
        await expect.poll(() => upstreamCut, { timeout: 3000 }).toBe(true);
      });

      it('streams SSE and chunked answers unbuffered: each piece reaches the client before the gateway sends the next', async () => {
        const p = await proxy(jwtSource());
        const cases = [
          {
            type: 'text/event-stream',
            first: 'data: {"n":1}\n\n',
            rest: 'data: {"n":2}\n\ndata: [DONE]\n\n',
          },
          { type: 'application/x-ndjson', first: '{"n":1}\n', rest: '{"n":2}\n' },
        ];
        for (const c of cases) {
          let release: () => void = () => undefined;
          const released = new Promise<void>((r) => {
            release = r;
          });
          let ended = false;
          gw.override = (_req, res) => {
            res.writeHead(200, { 'content-type': c.type });
            res.write(c.first);
            // The rest only once the client holds the first piece: through a buffering proxy the
            // first piece would never arrive.
            void released.then(() => {
              ended = true;
              res.end(c.rest);
            });
            return true;
          };
          const res = await request(`http://127.0.0.1:${p.port}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
            body: '{"stream":true}',
          });
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toBe(c.type);
          const chunks = res.body[Symbol.asyncIterator]();
          let text = '';
          await within(
            (async () => {
              while (text.length < c.first.length) {
                const n = await chunks.next();
                if (n.done) break;
                text += (n.value as Buffer).toString();
              }
            })(),
            5_000,
            `the first ${c.type} piece while the gateway holds the rest`,
          );
          expect(text).toBe(c.first);
          expect(ended).toBe(false);
          release();
          for (let n = await chunks.next(); !n.done; n = await chunks.next())
            text += (n.value as Buffer).toString();
          expect(text).toBe(c.first + c.rest);
        }
      });

      it('upstream closing mid-stream cuts the client stream (no silent truncation)', async () => {
        const p = await proxy(jwtSource());
        gw.override = (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"partial":true}\n\n');
          setTimeout(() => res.destroy(), 50);
          return true;
        };
        const res = await request(`http://127.0.0.1:${p.port}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'x-api-key': KEY },
          body: '{"stream":true}',
        });
        await expect(res.body.text()).rejects.toThrow();
      });

      it('streams large chunked request bodies through (no retry buffering)', async () => {
        const p = await proxy(jwtSource(), { maxReplayBytes: 1024 });
        const big = JSON.stringify({
          model: 'm',
          messages: [{ role: 'user', content: 'x'.repeat(100_000) }],
        });
        const r = await raw(p, '/v1/chat/completions', {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: big,
        });
        expect(r.status).toBe(200);
        expect(gw.requests[0]!.body).toBe(big);
      });

      it('logs method, path, status and duration with a verbose logger, never the keys', async () => {
        let log = '';
        const stream = {
          write: (s: string) => {
            log += s;
            return true;
          },
        } as unknown as NodeJS.WritableStream;
        const p = await proxy(jwtSource(), { logger: createLogger({ verbose: true, stream }) });
        await raw(p, `/v1/models?key=${KEY}`);
        await new Promise((r) => setTimeout(r, 50));
        expect(log).toMatch(/GET \/v1\/models 200 [\d.]+ms/);
        expect(log).not.toContain(KEY);
      });

      it('500 concurrent SSE streams all complete intact', async () => {
        const p = await proxy(jwtSource());
        const N = 500;
        const pool = new Pool(`http://127.0.0.1:${p.port}`, { connections: N });
        try {
          const bodies = await Promise.all(
            Array.from({ length: N }, async (_, i) => {
              const res = await pool.request({
                path: '/v1/chat/completions',
                method: 'POST',
                headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
                body: JSON.stringify({
                  model: 'm',
                  stream: true,
                  messages: [{ role: 'user', content: `n${i}` }],
                }),
              });
              expect(res.statusCode).toBe(200);
              return res.body.text();
            }),
          );
          bodies.forEach((b, i) => {
            expect(b).toContain(`"content":"n${i}"`);
            expect(b.endsWith('data: [DONE]\n\n')).toBe(true);
          });
          expect(gw.requests).toHaveLength(N);
        } finally {
          await pool.close();
        }
      });

      it('never puts the gateway token or the local key in logs or proxy-made errors', async () => {
        let log = '';
        const logger = createLogger({
          verbose: true,
          stream: {
            write: (s: string) => {
              log += s;
              return true;
            },
          } as unknown as NodeJS.WritableStream,
        });
        const token = await issuer.sign({ audience: 'wrong' }); // always rejected by the gateway
        const p = await proxy(new TestTokenSource({ issue: () => token }), { logger });
        const r401 = await raw(p, '/v1/models', { headers: { 'x-api-key': KEY } });
        expect(r401.status).toBe(401);
        const down = await proxy(new TestTokenSource({ issue: () => token }), {
          logger,
          gatewayUrl: 'http://127.0.0.1:9',
        });
        const r502 = await raw(down, `/v1/models?key=${KEY}`);
        expect(r502.status).toBe(502);
        for (const text of [log, r401.text, r502.text]) {
          expect(text).not.toContain(token);
          expect(text).not.toContain(KEY);
        }
        expect(log).toMatch(/401/);
      });
    });
  });
}
