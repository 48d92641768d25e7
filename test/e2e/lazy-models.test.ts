/**
 * A lazy setup defers model discovery to the first token, with real parts (oidc-provider, headless
 * Chromium, a JWT-verifying gateway): `setup --lazy` records `models_pending`; the first `gatepass
 * token` signs in, prints only the token, and fills the tools' model settings in once through
 * setup's own journaled edits — Claude Code's tier variables and Codex's `model` from the gateway's
 * list — keeping a tier the user had set in Claude Code's file; the next token changes nothing, and
 * teardown restores both files byte for byte. A gateway without `/v1/models` ends the wait with a
 * note and leaves the files as the lazy setup wrote them. The proxy fills them in after its first
 * token too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import YAML from 'yaml';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { oidcSetupFlags } from '../helpers/tool-e2e.js';

const MODELS = [
  'claude-3-5-haiku-20241022',
  'claude-sonnet-4-20250514',
  'claude-sonnet-4-5-20250929',
  'claude-opus-4-1-20250805',
  'gpt-5-codex',
];
let idp: TestIdp;
let hook: BrowserHook;
let gw: FakeGateway;
let t: TempHome;
/** What the gateway's /v1/models answers: the list, or 404. */
let listing: 'models' | 'none' = 'models';
let modelRequests = 0;

beforeAll(async () => {
  [idp, hook] = await Promise.all([startTestIdp(), startBrowserHook()]);
  gw = await startFakeGateway({ jwksUrl: idp.jwksUri, issuer: idp.issuer, audience: idp.audience });
  gw.override = (_req, res, record) => {
    // Listings with a token (setup's layout probe HEADs without one: the gateway's own answer).
    if (record.path !== '/v1/models' || record.method !== 'GET' || !record.subject) return false;
    modelRequests++;
    if (listing === 'none') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: MODELS.map((id) => ({ id, object: 'model' })) }));
    return true;
  };
});
afterAll(async () => {
  await gw?.close();
  await hook?.close();
  await idp?.close();
});
beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', ...hook.env });
  modelRequests = 0;
});
afterEach(() => t.cleanup());

const CLAUDE = '.claude/settings.json';
const CODEX = '.codex/config.toml';
const ORIGINAL: Record<string, string> = {
  [CLAUDE]: '{\n  // mine\n  "env": { "ANTHROPIC_DEFAULT_OPUS_MODEL": "my-opus" }\n}\n',
  [CODEX]: '# my Codex settings\n[mcp_servers.docs]\ncommand = "docs-mcp"\n',
};
const read = (rel: string) => readFileSync(path.join(t.home, rel), 'utf8');
const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });
const provider = () => YAML.parse(readFileSync(t.configFile, 'utf8')).providers.default;

async function lazySetup(): Promise<void> {
  for (const [rel, text] of Object.entries(ORIGINAL)) {
    mkdirSync(path.dirname(path.join(t.home, rel)), { recursive: true });
    writeFileSync(path.join(t.home, rel), text);
  }
  const r = await gp(['setup', ...(await oidcSetupFlags(gw.url, idp, 'claude,codex')), '--lazy']);
  expect(r.code, r.stderr).toBe(0);
  expect(provider().models_pending).toBe(true);
  expect(modelRequests).toBe(0);
}

it('the first gatepass token fills the models in once (stdout: the token only); user-set tiers stay', async () => {
  listing = 'models';
  await lazySetup();
  const lazyClaude = read(CLAUDE);
  expect(lazyClaude).not.toContain('ANTHROPIC_DEFAULT_SONNET_MODEL');

  const first = await gp(['token']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  expect(first.stderr).toContain(`filled in the gateway's ${MODELS.length} model(s) for claude, codex`);
  const claude = parseJsonc(read(CLAUDE));
  expect(claude.env).toMatchObject({
    ANTHROPIC_DEFAULT_HAIKU_MODEL: 'claude-3-5-haiku-20241022',
    ANTHROPIC_DEFAULT_SONNET_MODEL: 'claude-sonnet-4-5-20250929',
    ANTHROPIC_DEFAULT_OPUS_MODEL: 'my-opus', // the user's choice is kept
  });
  expect(read(CODEX)).toMatch(/^model = "gpt-5-codex"$/m);
  const p = provider();
  expect(p.models).toEqual(MODELS);
  expect(p.models_discovered).toBe(true);
  expect(p.models_pending).toBeUndefined();

  // Once: the next token (the fast path, or the full one) lists nothing and changes nothing.
  const files = [read(CLAUDE), read(CODEX)];
  const requests = modelRequests;
  const second = await gp(['token']);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).not.toContain('filled in');
  expect([read(CLAUDE), read(CODEX)]).toEqual(files);
  expect(modelRequests).toBe(requests);

  // Teardown undoes the fill-in with the rest: both files byte for byte.
  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  for (const [rel, text] of Object.entries(ORIGINAL)) expect(read(rel)).toBe(text);
});

it('a gateway without /v1/models: the first token ends the wait with a note; the files stay as setup wrote them', async () => {
  listing = 'none';
  await lazySetup();
  const files = [read(CLAUDE), read(CODEX)];
  const first = await gp(['token']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  expect(first.stderr).toContain('the gateway lists no models (no /v1/models endpoint)');
  expect([read(CLAUDE), read(CODEX)]).toEqual(files);
  expect(provider().models_pending).toBeUndefined();
  expect(provider().models).toBeUndefined();
});

it('the proxy fills them in after its first token (in the background; the request is served)', async () => {
  listing = 'models';
  await lazySetup();
  const port = await freePort();
  const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
  try {
    expect(start.code, start.stderr).toBe(0);
    const key = readFileSync(
      path.join(t.home, '.local/share/gatepass/secrets/GATEPASS_LOCAL_PROXY_KEY'),
      'utf8',
    ).trim();
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 60_000;
    while (provider().models_pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(provider().models_pending).toBeUndefined();
    expect(provider().models).toEqual(MODELS);
    expect(parseJsonc(read(CLAUDE)).env.ANTHROPIC_DEFAULT_SONNET_MODEL).toBe('claude-sonnet-4-5-20250929');
    expect(read(CODEX)).toMatch(/^model = "gpt-5-codex"$/m);
  } finally {
    await gp(['proxy', 'stop']);
  }
});

it('gatepass login after a lazy setup fills them in too (later tokens may come from the fast path)', async () => {
  listing = 'models';
  await lazySetup();
  const r = await gp(['login']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`filled in the gateway's ${MODELS.length} model(s) for claude, codex`);
  expect(provider().models_pending).toBeUndefined();
  expect(read(CODEX)).toMatch(/^model = "gpt-5-codex"$/m);
});
