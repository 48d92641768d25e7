import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type RunningProxy, startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIssuer, type TestIssuer, TestTokenSource } from '../helpers/tokens.js';
import { runTool } from '../helpers/tool-e2e.js';

const KEY = generateLocalProxyKey();
let issuer: TestIssuer;
let gw: FakeGateway;
let proxy: RunningProxy;
let t: TempHome;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startFakeGateway({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer });
  const source = new TestTokenSource({ issue: () => issuer.sign({ sub: 'frank' }), expiresInMs: 3_600_000 });
  proxy = await startProxy({
    tokenSource: source,
    gatewayUrl: gw.url,
    port: 0,
    localKey: KEY,
    logger: silentLogger,
  });
  t = makeTempHome();
});
afterAll(async () => {
  await proxy?.close(100);
  await gw?.close();
  await issuer?.close();
  t?.cleanup();
});

const run = (bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000) =>
  runTool(t, bin, args, timeoutMs, env);

const QUIET = {
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
};

describe('real CLIs through the proxy', () => {
  it('Claude Code (`claude -p`) with the local key as ANTHROPIC_API_KEY', async () => {
    gw.requests.length = 0;
    const r = await run('claude', ['-p', 'ping through gatepass', '--model', 'claude-sonnet-4-5'], {
      ...QUIET,
      ANTHROPIC_BASE_URL: proxy.url,
      ANTHROPIC_API_KEY: KEY,
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('echo:');
    expect(r.stdout).toContain('ping through gatepass');
    const messages = gw.requests.filter((x) => x.url.startsWith('/v1/messages'));
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) {
      expect(m.subject).toBe('frank');
      expect(m.headers['anthropic-version']).toBeDefined();
      expect(JSON.stringify(m.headers)).not.toContain(KEY);
    }
  });

  it('Codex CLI (`codex exec`) with a model provider pointing at the proxy', async () => {
    gw.requests.length = 0;
    const codexHome = path.join(t.home, '.codex');
    mkdirSync(codexHome, { recursive: true });
    writeFileSync(
      path.join(codexHome, 'config.toml'),
      `model = "test-model"
model_provider = "gatepass"

[model_providers.gatepass]
name = "gatepass"
base_url = "${proxy.url}/v1"
env_key = "GATEPASS_LOCAL_KEY"
wire_api = "responses"
`,
    );
    const r = await run('codex', ['exec', '--skip-git-repo-check', 'ping codex through gatepass'], {
      CODEX_HOME: codexHome,
      GATEPASS_LOCAL_KEY: KEY,
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('echo:');
    const responses = gw.requests.filter((x) => x.url.startsWith('/v1/responses'));
    expect(responses.length).toBeGreaterThan(0);
    for (const m of responses) expect(m.subject).toBe('frank');
  });

  it('Gemini CLI (`gemini -p`) with GOOGLE_GEMINI_BASE_URL and the local key as GEMINI_API_KEY', async () => {
    gw.requests.length = 0;
    mkdirSync(path.join(t.home, '.gemini'), { recursive: true });
    writeFileSync(
      path.join(t.home, '.gemini/settings.json'),
      JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }),
    );
    const r = await run('gemini', ['-p', 'ping gemini through gatepass', '-m', 'gemini-2.5-flash'], {
      GOOGLE_GEMINI_BASE_URL: proxy.url,
      GEMINI_API_KEY: KEY,
      GEMINI_CLI_NO_RELAUNCH: 'true',
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('echo:');
    const calls = gw.requests.filter((x) => /:(stream)?generateContent/i.test(x.url));
    expect(calls.length).toBeGreaterThan(0);
    for (const m of calls) {
      expect(m.subject).toBe('frank');
      expect(m.url).not.toContain(KEY);
      expect(m.headers['x-goog-api-key']).toBeUndefined();
    }
  });
});
