/**
 * Model discovery through the built CLI: `gatepass models` and setup's `--models auto` against a
 * fake gateway listing models in the OpenAI shape and in Anthropic's paged shape, one without the
 * endpoint (404) and one rejecting the token (401). A command provider supplies the token.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { shellQuote } from '../../src/auth/export.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, type RecordedRequest, startFakeGateway } from '../helpers/gateway.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const TOKEN = 'tok-models-123456';
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');
const KEY = generateLocalProxyKey();

const ANTHROPIC_IDS = [
  'claude-3-5-haiku-20241022',
  'claude-sonnet-4-20250514',
  'claude-opus-4-1-20250805',
  'claude-sonnet-4-5-20250929',
  'claude-opus-4-20250514',
];

let gw: FakeGateway;
let t: TempHome;
/** How the fake gateway answers GET …/v1/models (null: the gateway's own handler). */
let models: ((res: ServerResponse, r: RecordedRequest) => void) | null;

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const openaiList = (ids: string[]) => (res: ServerResponse, r: RecordedRequest) =>
  r.path === '/v1/models'
    ? send(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', owned_by: 'gw' })) })
    : send(res, 404, { error: 'not found' });
/** Anthropic's shape under /anthropic, two ids a page, paged with after_id; /v1/models is 404. */
const anthropicPaged = (ids: string[]) => (res: ServerResponse, r: RecordedRequest) => {
  if (r.path !== '/anthropic/v1/models') return send(res, 404, { error: 'not found' });
  const after = new URL(r.url, 'http://x').searchParams.get('after_id');
  const start = after ? ids.indexOf(after) + 1 : 0;
  const page = ids.slice(start, start + 2);
  send(res, 200, {
    data: page.map((id) => ({ id, display_name: id, type: 'model', created_at: '2025-01-01T00:00:00Z' })),
    has_more: start + 2 < ids.length,
    first_id: page[0] ?? null,
    last_id: page.at(-1) ?? null,
  });
};
const modelRequests = () => gw.requests.filter((r) => r.path.endsWith('/v1/models'));

beforeAll(async () => {
  gw = await startFakeGateway();
  gw.override = (req, res, record) => {
    if (!models || req.method !== 'GET' || !record.path.endsWith('/v1/models')) return false;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      send(res, 401, { error: 'no token' });
      return true;
    }
    models(res, record);
    return true;
  };
});
afterAll(async () => {
  await gw.close();
});
beforeEach(() => {
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
  });
  mkdirSync(path.join(t.home, '.claude'));
  mkdirSync(path.join(t.home, '.codex'));
  mkdirSync(path.join(t.home, '.config/opencode'), { recursive: true });
  gw.requests.length = 0;
  models = null;
});
afterEach(() => t.cleanup());

const gp = (args: string[]) => runGatepass(args, { env: t.env });
const config = () => parseYaml(readFileSync(t.configFile, 'utf8')).providers.corp;
const claudeEnv = () => JSON.parse(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8')).env;
const codexToml = () => readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8');
const opencodeModels = () =>
  Object.keys(
    JSON.parse(readFileSync(path.join(t.home, '.config/opencode/opencode.json'), 'utf8')).provider.gatepass
      .models ?? {},
  );

async function configure(token = TOKEN, ...flags: string[]): Promise<void> {
  const r = await gp([
    '-p',
    'corp',
    'config',
    'set',
    '--type',
    'command',
    '--gateway-url',
    gw.url,
    '--token-command',
    cmd('bare', token),
    '--default-provider',
    'corp',
    ...flags,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

describe('gatepass models', () => {
  it('lists an OpenAI-shaped list, one id a line, and --json adds the Claude Code tier picks', async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = openaiList(['gpt-5', ...ANTHROPIC_IDS]);
    const r = await gp(['models']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${['gpt-5', ...ANTHROPIC_IDS].join('\n')}\n`);
    expect(r.stderr).not.toContain(TOKEN);
    const j = await gp(['models', '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      provider: 'corp',
      url: `${gw.url}/v1/models`,
      models: ['gpt-5', ...ANTHROPIC_IDS],
      claude_code_tiers: {
        haiku: 'claude-3-5-haiku-20241022',
        sonnet: 'claude-sonnet-4-5-20250929',
        opus: 'claude-opus-4-1-20250805',
      },
    });
  });

  it("follows the Anthropic shape's pages under the Anthropic path prefix", async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '/anthropic', '--openai-path-prefix', '');
    models = anthropicPaged(ANTHROPIC_IDS);
    const r = await gp(['models']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(ANTHROPIC_IDS);
    // 404 at /v1/models, then three pages of two.
    expect(modelRequests().map((q) => q.url)).toEqual([
      '/v1/models',
      '/anthropic/v1/models',
      '/anthropic/v1/models?limit=1000&after_id=claude-sonnet-4-20250514',
      '/anthropic/v1/models?limit=1000&after_id=claude-sonnet-4-5-20250929',
    ]);
  });

  it('keeps only ids a tool file can hold: no control characters, spaces, commas; at most 500', async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    const many = Array.from({ length: 600 }, (_, i) => `m-${i}`);
    models = openaiList(['ok-1', 'bad\u001b[31m', 'bad id', 'a,b', 'ünï', 'x'.repeat(257), ...many]);
    const r = await gp(['models', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout).models as string[];
    expect(listed).toHaveLength(500);
    expect(listed.slice(0, 2)).toEqual(['ok-1', 'm-0']);
    expect(r.stdout).not.toContain('\u001b');
  });

  it('a gateway rejecting the token: a clear message and exit 1', async () => {
    await configure('tok-wrong-654321', '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = openaiList(ANTHROPIC_IDS);
    const r = await gp(['models']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('HTTP 401: the gateway rejected the token');
    expect(r.stderr).toContain('gatepass login');
    expect(r.stderr).not.toContain('tok-wrong-654321');
  });

  it('a gateway without the endpoint: says so, exit 1', async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = (res) => send(res, 404, { error: 'not found' });
    const r = await gp(['models']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no model list');
  });
});

describe('setup --models auto', () => {
  const TOOLS = ['--tools', 'claude,codex,opencode'];

  it('without --models: wires the discovered models and saves them as discovered; a re-run refreshes them', async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = openaiList(['gpt-5-codex', ...ANTHROPIC_IDS]);
    const r = await gp(['setup', ...TOOLS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('The gateway lists 6 model(s)');
    expect(claudeEnv()).toMatchObject({
      ANTHROPIC_DEFAULT_HAIKU_MODEL: 'claude-3-5-haiku-20241022',
      ANTHROPIC_DEFAULT_SONNET_MODEL: 'claude-sonnet-4-5-20250929',
      ANTHROPIC_DEFAULT_OPUS_MODEL: 'claude-opus-4-1-20250805',
    });
    expect(codexToml()).toMatch(/^model = "gpt-5-codex"$/m);
    expect(opencodeModels()).toEqual(['gpt-5-codex', ...ANTHROPIC_IDS]);
    expect(config().models).toEqual(['gpt-5-codex', ...ANTHROPIC_IDS]);
    expect(config().models_discovered).toBe(true);

    // The gateway now serves a newer Sonnet: the next setup (cached token) picks it up.
    models = openaiList([...ANTHROPIC_IDS, 'claude-sonnet-4-6-20260101']);
    const again = await gp(['setup', ...TOOLS]);
    expect(again.code, again.stderr).toBe(0);
    expect(claudeEnv().ANTHROPIC_DEFAULT_SONNET_MODEL).toBe('claude-sonnet-4-6-20260101');
    expect(config().models).toEqual([...ANTHROPIC_IDS, 'claude-sonnet-4-6-20260101']);

    // Teardown takes the discovered settings away with the rest (setup created these files).
    const td = await gp(['teardown']);
    expect(td.code, td.stderr).toBe(0);
    expect(existsSync(path.join(t.home, '.codex/config.toml'))).toBe(false);
    expect(existsSync(path.join(t.home, '.claude/settings.json'))).toBe(false);
  });

  it("explicit --models wins, is saved as the user's, and later runs neither ask the gateway nor replace it", async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = openaiList(ANTHROPIC_IDS);
    const r = await gp(['setup', ...TOOLS, '--models', 'my-model-a,my-model-b']);
    expect(r.code, r.stderr).toBe(0);
    expect(modelRequests()).toHaveLength(0);
    expect(config().models).toEqual(['my-model-a', 'my-model-b']);
    expect(config().models_discovered).toBeUndefined();
    expect(opencodeModels()).toEqual(['my-model-a', 'my-model-b']);
    expect(claudeEnv().ANTHROPIC_DEFAULT_SONNET_MODEL).toBeUndefined();

    const again = await gp(['setup', ...TOOLS]);
    expect(again.code, again.stderr).toBe(0);
    expect(modelRequests()).toHaveLength(0);
    expect(config().models).toEqual(['my-model-a', 'my-model-b']);

    // --models auto asks for the gateway's list over the user's.
    const auto = await gp(['setup', ...TOOLS, '--models', 'auto']);
    expect(auto.code, auto.stderr).toBe(0);
    expect(config().models).toEqual(ANTHROPIC_IDS);
    expect(config().models_discovered).toBe(true);
  });

  it('a gateway without the endpoint: setup goes on without models, with a note', async () => {
    await configure(TOKEN, '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = (res) => send(res, 404, { error: 'not found' });
    const r = await gp(['setup', ...TOOLS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('The gateway lists no models (no /v1/models endpoint)');
    expect(config().models).toBeUndefined();
    expect(opencodeModels()).toEqual([]);
  });

  it('a gateway rejecting the token for the list: setup goes on, warning what the gateway said', async () => {
    await configure('tok-other-777777', '--anthropic-path-prefix', '', '--openai-path-prefix', '');
    models = openaiList(ANTHROPIC_IDS);
    const r = await gp(['setup', ...TOOLS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("could not list the gateway's models");
    expect(r.stderr).toContain('HTTP 401: the gateway rejected the token');
    expect(r.stderr).not.toContain('tok-other-777777');
    expect(config().models).toBeUndefined();
  });
});
