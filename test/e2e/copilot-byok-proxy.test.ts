/**
 * What setup writes for VS Code and Copilot for Xcode, used the way those products use it, reaches
 * the gateway through the real loopback proxy with a verified JWT:
 * - VS Code: each model's `url`, with the headers Copilot Chat's endpoint sends (its own
 *   `Authorization: Bearer <apiKey>` — here an unresolved `${input:…}` reference, the case where the
 *   literal key is not used — plus the model's `requestHeaders`);
 * - Copilot for Xcode: `deploymentUrl` turned into an SDK base URL as the language server does
 *   (resolveCustomEndpointBaseUrl, @github/copilot-language-server 1.539.0 dist/main.js), then the
 *   official `openai` / `@anthropic-ai/sdk` client with the stored `gatepass-api-key`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import { runSetup } from '../../src/setup/setup.js';
import { makeTempHome, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { BASE_FLAGS, setupRunEnv } from '../helpers/setup-env.js';
import { startTestIssuer, type TestIssuer, TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
/** What Copilot would send when it does not resolve the key reference in the file. */
const UNRESOLVED = ['$', '{input:chat.lm.secret.-1a2b3c4d}'].join('');
let issuer: TestIssuer;
let gw: FakeGateway;
let proxy: RunningProxy;
let t: TempHome;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer });
  const source = new TestTokenSource({ issue: () => issuer.sign({ sub: 'grace' }), expiresInMs: 3_600_000 });
  proxy = await startProxy({
    tokenSource: source,
    gatewayUrl: gw.url,
    port: 0,
    localKey: KEY,
    logger: silentLogger,
  });
});
afterAll(async () => {
  await proxy?.close(100);
  await gw?.close();
  await issuer?.close();
});
beforeEach(() => {
  t?.cleanup();
  t = makeTempHome();
  gw.requests.length = 0;
});

/** Run setup for `tool` against the running proxy's port, with the gateway API `api`. */
async function wire(tool: string, api: string, platform: NodeJS.Platform): Promise<void> {
  const store = createMemoryStore();
  await store.set('GATEPASS_LOCAL_PROXY_KEY', KEY);
  const port = new URL(proxy.url).port;
  await runSetup(setupRunEnv({ t, store, out: [], warnings: [], platform }), {
    assignments: [...BASE_FLAGS, ['models', 'gw-model'], ['api_type', api], ['proxy.listen_port', port]],
    tools: [tool],
    lazy: true,
    probe: async () => 404,
  });
}

function expectThroughGateway(pathName: string): void {
  const hits = gw.requests.filter((r) => r.path === pathName);
  expect(hits.length).toBe(1);
  expect(hits[0]!.subject).toBe('grace');
  // Neither the local key nor the unresolved reference reaches the gateway.
  expect(JSON.stringify(hits[0]!.headers)).not.toContain(KEY);
  expect(JSON.stringify(hits[0]!.headers)).not.toContain(UNRESOLVED);
}

describe('VS Code: the chatLanguageModels.json entry', () => {
  const cases: Array<[string, string, string, unknown]> = [
    [
      'openai_compatible',
      'chat-completions',
      '/v1/chat/completions',
      { model: 'gw-model', messages: [{ role: 'user', content: 'hi' }] },
    ],
    ['responses', 'responses', '/v1/responses', { model: 'gw-model', input: 'hi' }],
    [
      'anthropic',
      'messages',
      '/v1/messages',
      { model: 'gw-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
    ],
  ];
  for (const [api, apiType, urlPath, body] of cases) {
    it(`${apiType}: POST to the model url with Copilot's headers is served by the gateway`, async () => {
      mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
      await wire('vscode', api, 'linux');
      const [entry] = JSON.parse(
        readFileSync(path.join(t.home, '.config/Code/User/chatLanguageModels.json'), 'utf8'),
      ) as Array<{ apiType: string; models: Array<{ url: string; requestHeaders: Record<string, string> }> }>;
      expect(entry!.apiType).toBe(apiType);
      const model = entry!.models[0]!;
      expect(model.url).toBe(`${proxy.url}${urlPath}`);
      const res = await fetch(model.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${UNRESOLVED}`,
          ...(apiType === 'messages' ? { 'anthropic-version': '2023-06-01' } : {}),
          ...model.requestHeaders,
        },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      await res.arrayBuffer();
      expectThroughGateway(urlPath);
    });
  }

  it('without the requestHeaders key the proxy refuses (the header is what carries it)', async () => {
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${UNRESOLVED}` },
      body: '{}',
    });
    expect(res.status).toBe(403);
    await res.arrayBuffer();
  });
});

/** resolveCustomEndpointBaseUrl of the Copilot language server 1.539.0 (dist/main.js), restated. */
function lsBaseUrl(deploymentUrl: string, apiType: string): string {
  let r = deploymentUrl.trim().replace(/\/$/, '');
  for (const s of ['/v1/messages', '/chat/completions', '/responses', '/messages']) {
    if (r.endsWith(s)) {
      r = r.slice(0, -s.length);
      break;
    }
  }
  if (apiType === 'messages') return r.replace(/\/v\d+$/, '');
  return /\/v\d+$/.test(r) ? r : `${r}/v1`;
}

describe('Copilot for Xcode: the byok.json custom provider', () => {
  const byok = () =>
    JSON.parse(readFileSync(path.join(t.home, '.config/github-copilot/byok.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  const appDir = () =>
    mkdirSync(path.join(t.home, 'Library/Application Support/GitHub Copilot for Xcode'), { recursive: true });

  it('chatCompletions: the official openai client on the derived base URL with the stored key', async () => {
    appDir();
    await wire('xcode', 'openai_compatible', 'darwin');
    const doc = byok();
    const cfg = doc['gatepass-provider-config'] as unknown as { apiType: string };
    const model = (doc['gatepass-models-config'] as unknown as Record<string, { deploymentUrl: string }>)[
      'gw-model'
    ]!;
    const client = new OpenAI({
      baseURL: lsBaseUrl(model.deploymentUrl, cfg.apiType),
      apiKey: doc['gatepass-api-key'] as string,
    });
    const r = await client.chat.completions.create({
      model: 'gw-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.choices[0]!.message.content).toBeTruthy();
    expectThroughGateway('/v1/chat/completions');
  });

  it('messages: the official Anthropic client on the derived base URL with the stored key', async () => {
    appDir();
    await wire('xcode', 'anthropic', 'darwin');
    const doc = byok();
    const cfg = doc['gatepass-provider-config'] as unknown as { apiType: string };
    expect(cfg.apiType).toBe('messages');
    const model = (doc['gatepass-models-config'] as unknown as Record<string, { deploymentUrl: string }>)[
      'gw-model'
    ]!;
    const client = new Anthropic({
      baseURL: lsBaseUrl(model.deploymentUrl, cfg.apiType),
      apiKey: doc['gatepass-api-key'] as string,
    });
    const r = await client.messages.create({
      model: 'gw-model',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.content.length).toBeGreaterThan(0);
    expectThroughGateway('/v1/messages');
  });
});
