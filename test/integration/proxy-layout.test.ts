/**
 * The proxy honours the gateway layout setup found: OpenAI-style requests go under the OpenAI path
 * prefix, Anthropic ones under the Anthropic prefix, and a path that already carries it is kept.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIssuer, type TestIssuer, TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
let issuer: TestIssuer;
let gw: FakeGateway;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience });
});
afterAll(async () => {
  await gw.close();
  await issuer.close();
});

it('adds /openai and /anthropic to requests of each dialect', async () => {
  const p = await startProxy({
    tokenSource: new TestTokenSource({ issue: () => issuer.sign({ sub: 'alice' }), expiresInMs: 3_600_000 }),
    gatewayUrl: gw.url,
    pathPrefixes: { anthropic: '/anthropic', openai: '/openai' },
    port: 0,
    localKey: KEY,
    logger: silentLogger,
  });
  try {
    const openai = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.choices[0]!.message.content).toBe('echo: hi');
    const anthropic = new Anthropic({ apiKey: KEY, baseURL: p.url, maxRetries: 0 });
    await anthropic.messages.create({
      model: 'claude-test',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const already = new Anthropic({ apiKey: KEY, baseURL: `${p.url}/anthropic`, maxRetries: 0 });
    await already.messages.create({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(gw.requests.map((x) => x.path)).toEqual([
      '/openai/v1/chat/completions',
      '/anthropic/v1/messages',
      '/anthropic/v1/messages',
    ]);
  } finally {
    await p.close(100);
  }
});
