/**
 * VS Code's Copilot Custom Endpoint (`chatLanguageModels.json`) and GitHub Copilot for Xcode's
 * language-server BYOK store (`byok.json`): exact file content per OS path, other entries and
 * comments kept, setup → teardown byte for byte, the secret never in the config, migration away
 * from the keys earlier gatepass versions wrote, and status / --dry-run naming the new files.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateConfig } from '../../src/config/store.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { collectStatus, formatStatus } from '../../src/setup/status.js';
import { runTeardown } from '../../src/setup/teardown.js';
import { planFile, writeBackups, writePlanned } from '../../src/tools/edit/file.js';
import type { KeySetting } from '../../src/tools/edit/types.js';
import { makeTempHome, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, readHomeFile, setupRunEnv, writeHomeFile } from '../helpers/setup-env.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];
let key: string;

const runEnv = (platform?: NodeJS.Platform) => setupRunEnv({ t, store, out, warnings, platform });
const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };
const PROXY = 'http://127.0.0.1:14000';
const MODELS: Array<[string, string]> = [['models', 'gpt-4o,claude-sonnet']];

const setup = (
  tools: string[],
  flags: Array<[string, string]> = MODELS,
  platform?: NodeJS.Platform,
  extra: Partial<SetupOptions> = {},
) =>
  runSetup(runEnv(platform), {
    assignments: [...BASE_FLAGS, ...flags],
    tools,
    self: SELF,
    lazy: true,
    probe: async () => 404,
    ...extra,
  });
const teardown = (platform?: NodeJS.Platform) =>
  runTeardown(runEnv(platform), {
    logout: async () => ({ deleted: true, revoked: false }),
    stopProxy: async () => ({ stopped: true, pid: 1 }),
  });
const write = (rel: string, text: string) => writeHomeFile(t, rel, text);
const read = (rel: string) => readHomeFile(t, rel);
const exists = (rel: string) => existsSync(path.join(t.home, rel));

beforeEach(async () => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
  key = generateLocalProxyKey();
  await store.set('GATEPASS_LOCAL_PROXY_KEY', key);
});
afterEach(() => t.cleanup());

/** The gatepass entry as setup writes it, indented by `indent` with unit `unit`, lines joined by `eol`. */
function vscodeEntryText(
  apiType: string,
  urlPath: string,
  indent: string,
  unit: string,
  eol: string,
): string {
  const i = (n: number) => indent + unit.repeat(n);
  const model = (id: string) => [
    `${i(2)}{`,
    `${i(3)}"id": "${id}",`,
    `${i(3)}"name": "${id} (gatepass)",`,
    `${i(3)}"url": "${PROXY}${urlPath}",`,
    `${i(3)}"toolCalling": true,`,
    `${i(3)}"vision": false,`,
    `${i(3)}"maxInputTokens": 128000,`,
    `${i(3)}"maxOutputTokens": 16000,`,
    `${i(3)}"requestHeaders": {`,
    `${i(4)}"x-api-key": "${key}"`,
    `${i(3)}}`,
  ];
  return [
    `${indent}{`,
    `${i(1)}"name": "gatepass",`,
    `${i(1)}"vendor": "customendpoint",`,
    `${i(1)}"apiKey": "${key}",`,
    `${i(1)}"apiType": "${apiType}",`,
    `${i(1)}"models": [`,
    ...model('gpt-4o'),
    `${i(2)}},`,
    ...model('claude-sonnet'),
    `${i(2)}}`,
    `${i(1)}]`,
    `${indent}}`,
  ].join(eol);
}

const VSCODE_PATHS: Array<{ tool: string; platform: NodeJS.Platform; dir: string }> = [
  { tool: 'vscode', platform: 'linux', dir: '.config/Code/User' },
  { tool: 'vscode-insiders', platform: 'linux', dir: '.config/Code - Insiders/User' },
  { tool: 'vscode', platform: 'darwin', dir: 'Library/Application Support/Code/User' },
  { tool: 'vscode-insiders', platform: 'darwin', dir: 'Library/Application Support/Code - Insiders/User' },
  { tool: 'vscode', platform: 'win32', dir: 'AppData/Roaming/Code/User' }, // %APPDATA%\Code\User
];

describe('VS Code: chatLanguageModels.json beside settings.json', () => {
  for (const { tool, platform, dir } of VSCODE_PATHS) {
    it(`${tool} (${platform}): exact entry appended, other entries and comments kept, teardown byte-exact`, async () => {
      const rel = `${dir}/chatLanguageModels.json`;
      const eol = platform === 'win32' ? '\r\n' : '\n';
      const mine = [
        '[',
        '  // my providers',
        '  {',
        '    "name": "Ollama", // local',
        '    "vendor": "ollama"',
        '  },',
        `  { "name": "Work", "vendor": "customendpoint", "apiKey": "\${input:chat.lm.secret.abc}", "apiType": "responses", "models": [] }`,
        ']',
        '',
      ].join(eol);
      write(rel, mine);
      write(`${dir}/settings.json`, `{${eol}  "editor.fontSize": 14${eol}}${eol}`);
      const r = await setup([tool], MODELS, platform);
      expect(r.tools[0]!.files).toEqual([path.join(t.home, rel)]);
      const expected = [
        ...mine.split(eol).slice(0, 6),
        `  { "name": "Work", "vendor": "customendpoint", "apiKey": "\${input:chat.lm.secret.abc}", "apiType": "responses", "models": [] },`,
        vscodeEntryText('chat-completions', '/v1/chat/completions', '  ', '  ', eol),
        ']',
        '',
      ].join(eol);
      expect(read(rel)).toBe(expected);
      // settings.json is not touched any more; the key is never in gatepass' own config.
      expect(read(`${dir}/settings.json`)).toBe(`{${eol}  "editor.fontSize": 14${eol}}${eol}`);
      expect(readFileSync(t.configFile, 'utf8')).not.toContain(key);
      const st = await collectStatus(runEnv(platform));
      expect(st.tools.map((x) => [x.tool, x.state, x.files.map((f) => f.file)])).toEqual([
        [tool, 'wired', [path.join(t.home, rel)]],
      ]);
      expect(JSON.stringify(st)).not.toContain(key);
      expect(formatStatus(st).join('\n')).toContain(`(proxy): wired — ${path.join(t.home, rel)}`);
      await teardown(platform);
      expect(read(rel)).toBe(mine);
      expect(warnings).toEqual([]);
    });
  }

  it('a new file is created 0600 holding only the entry, and removed by teardown', async () => {
    mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
    await setup(['vscode']);
    const rel = '.config/Code/User/chatLanguageModels.json';
    expect(read(rel)).toBe(
      `[\n${vscodeEntryText('chat-completions', '/v1/chat/completions', '  ', '  ', '\n')}\n]\n`,
    );
    expect(statSync(path.join(t.home, rel)).mode & 0o777).toBe(0o600);
    expect(exists('.config/Code/User/settings.json')).toBe(false);
    await teardown();
    expect(exists(rel)).toBe(false);
    expect(exists('.config/Code/User')).toBe(true);
  });

  it('apiType and URL follow the gateway API (api_type): messages, responses, chat completions', async () => {
    mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
    const rel = '.config/Code/User/chatLanguageModels.json';
    const entry = () => (JSON.parse(read(rel)) as Array<Record<string, unknown>>)[0]!;
    const cases: Array<[string, string, string]> = [
      ['anthropic', 'messages', '/v1/messages'],
      ['openai_responses', 'responses', '/v1/responses'],
      ['openai_compatible', 'chat-completions', '/v1/chat/completions'],
    ];
    for (const [api, apiType, urlPath] of cases) {
      await setup(['vscode'], [...MODELS, ['api_type', api]]);
      expect(entry()).toMatchObject({ apiType, models: [{ url: `${PROXY}${urlPath}` }, {}] });
    }
    // Re-runs replaced gatepass' entry in place: still one entry, and teardown removes the file.
    expect(JSON.parse(read(rel))).toHaveLength(1);
    await teardown();
    expect(exists(rel)).toBe(false);
  });

  it('tells the user BYOK must be allowed by their plan/policy, and when no models were given', async () => {
    mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
    const r = await setup(['vscode'], []);
    expect(r.manual.join('\n')).toMatch(/plan or organization policy must allow bring-your-own-key/);
    expect(r.manual.join('\n')).toMatch(/no models given.*--models/);
    expect(JSON.parse(read('.config/Code/User/chatLanguageModels.json'))).toMatchObject([
      { name: 'gatepass', models: [] },
    ]);
  });

  it('refuses a file that is not a JSON array and leaves it untouched', async () => {
    const rel = '.config/Code/User/chatLanguageModels.json';
    write(rel, '{ "name": "x" }\n');
    await expect(setup(['vscode'])).rejects.toThrow(/does not hold a JSON array/);
    expect(read(rel)).toBe('{ "name": "x" }\n');
  });

  it('setup --dry-run shows the new file (key redacted) and writes nothing', async () => {
    mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
    await setup(['vscode'], MODELS, 'linux', { dryRun: true });
    const text = out.join('\n');
    expect(text).toContain(path.join(t.home, '.config/Code/User/chatLanguageModels.json'));
    expect(text).toContain('"vendor": "customendpoint"');
    expect(text).toContain('"apiKey": "<redacted>"');
    expect(text).not.toContain(key);
    expect(exists('.config/Code/User/chatLanguageModels.json')).toBe(false);
  });
});

/** Wire `settings` the way an earlier gatepass version did, recording it in configured_tools. */
async function oldWiring(tool: string, file: string, settings: KeySetting[]): Promise<void> {
  const planned = await planFile({ file, format: 'json', settings });
  await writePlanned(planned);
  await writeBackups(path.join(t.home, '.local/share/gatepass'), planned.backups);
  await updateConfig(t.configFile, (cfg) => {
    cfg.configured_tools.push({
      tool,
      mode: 'proxy',
      config_path: file,
      provider: 'default',
      files: [planned.record],
    });
  });
}

describe('migration from the settings earlier gatepass versions wrote', () => {
  const OLD_VSCODE: KeySetting[] = [
    { path: ['github.copilot.advanced', 'serverUrl'], value: PROXY },
    { path: ['github.copilot.advanced', 'apiKey'], value: 'placeholder', secret: true },
  ];

  it('VS Code: settings.json gets back its exact bytes; the new entry is written; teardown restores all', async () => {
    const settings = '{\n  // editor\n  "editor.fontSize": 14,\n}\n';
    const rel = '.config/Code/User/settings.json';
    const f = write(rel, settings);
    OLD_VSCODE[1]!.value = key;
    await oldWiring('vscode', f, OLD_VSCODE);
    expect(read(rel)).toContain('github.copilot.advanced');
    await setup(['vscode']);
    expect(read(rel)).toBe(settings);
    expect(JSON.parse(read('.config/Code/User/chatLanguageModels.json'))).toMatchObject([
      { name: 'gatepass', vendor: 'customendpoint', apiKey: key },
    ]);
    expect(out.join('\n')).toContain(f); // the restored file is named in setup's report
    // A second run finds nothing left to undo in settings.json and changes no byte.
    const models = read('.config/Code/User/chatLanguageModels.json');
    await setup(['vscode']);
    expect(read(rel)).toBe(settings);
    expect(read('.config/Code/User/chatLanguageModels.json')).toBe(models);
    await teardown();
    expect(read(rel)).toBe(settings);
    expect(exists('.config/Code/User/chatLanguageModels.json')).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('VS Code: a settings.json that gatepass created is removed by teardown after the migration', async () => {
    mkdirSync(path.join(t.home, '.config/Code/User'), { recursive: true });
    const f = path.join(t.home, '.config/Code/User/settings.json');
    await oldWiring('vscode', f, OLD_VSCODE);
    await setup(['vscode']);
    expect(read('.config/Code/User/settings.json')).toBe('{}\n');
    await teardown();
    expect(exists('.config/Code/User/settings.json')).toBe(false);
    expect(exists('.config/Code/User/chatLanguageModels.json')).toBe(false);
  });

  it('Xcode: editorSettings.json gets back its exact bytes, its own apiKey from the private backup', async () => {
    const rel = 'Library/Application Support/GitHub Copilot for Xcode/editorSettings.json';
    const mine = '{ "openAIBaseURL": "https://api.openai.com/v1", "apiKey": "sk-own" }\n';
    const f = write(rel, mine);
    await oldWiring('xcode', f, [
      { path: ['openAIBaseURL'], value: `${PROXY}/v1` },
      { path: ['apiKey'], value: key, secret: true },
    ]);
    expect(read(rel)).not.toBe(mine);
    await setup(['xcode'], MODELS, 'darwin');
    expect(read(rel)).toBe(mine);
    expect(JSON.parse(read('.config/github-copilot/byok.json'))).toMatchObject({ 'gatepass-api-key': key });
    await teardown('darwin');
    expect(read(rel)).toBe(mine);
    expect(exists('.config/github-copilot/byok.json')).toBe(false);
    expect(warnings).toEqual([]);
  });
});

describe("GitHub Copilot for Xcode: the language server's byok.json", () => {
  const APP = 'Library/Application Support/GitHub Copilot for Xcode';
  const BYOK = '.config/github-copilot/byok.json';
  const caps = (id: string) =>
    `{"deploymentUrl":"${PROXY}/v1","isRegistered":true,"isCustomModel":true,"modelCapabilities":{"name":"${id} (gatepass)","maxInputTokens":128000,"maxOutputTokens":16000,"toolCalling":true,"vision":false}}`;

  it("adds the gatepass custom provider next to the user's providers, exact bytes; teardown restores", async () => {
    mkdirSync(path.join(t.home, APP), { recursive: true });
    // As the language server writes it: one compact JSON object and a newline.
    const mine =
      '{"OpenAI-api-key":"sk-mine","OpenAI-models-config":{"gpt-4o":{"isRegistered":true,"isCustomModel":false}}}\n';
    write(BYOK, mine);
    const r = await setup(['xcode'], MODELS, 'darwin');
    expect(r.tools[0]!.files).toEqual([path.join(t.home, BYOK)]);
    expect(read(BYOK)).toBe(
      `${mine.slice(0, -2)}, "gatepass-api-key": "${key}", "gatepass-provider-config": {"groupName":"gatepass","apiType":"chatCompletions"}, "gatepass-models-config": {"gpt-4o":${caps('gpt-4o')},"claude-sonnet":${caps('claude-sonnet')}}}\n`,
    );
    const cfg = readFileSync(t.configFile, 'utf8');
    expect(cfg).not.toContain(key);
    expect(cfg).not.toContain('sk-mine');
    const st = await collectStatus(runEnv('darwin'));
    expect(st.tools.map((x) => [x.tool, x.state, x.files.map((f) => f.file)])).toEqual([
      ['xcode', 'wired', [path.join(t.home, BYOK)]],
    ]);
    expect(r.manual.join('\n')).toMatch(/byok\.json.*1\.539\.0.*bring-your-own-key/);
    await teardown('darwin');
    expect(read(BYOK)).toBe(mine);
  });

  it('a new byok.json (0600) with the Messages API type; removed again by teardown; XDG_CONFIG_HOME honoured', async () => {
    mkdirSync(path.join(t.home, APP), { recursive: true });
    await setup(['xcode'], [...MODELS, ['api_type', 'anthropic']], 'darwin');
    const doc = JSON.parse(read(BYOK)) as Record<string, unknown>;
    expect(doc['gatepass-provider-config']).toEqual({ groupName: 'gatepass', apiType: 'messages' });
    expect(statSync(path.join(t.home, BYOK)).mode & 0o777).toBe(0o600);
    await teardown('darwin');
    expect(exists(BYOK)).toBe(false);
    expect(exists('.config/github-copilot')).toBe(false);

    const xdg = path.join(t.home, 'xdg');
    const run = { ...runEnv('darwin'), env: { ...runEnv('darwin').env, XDG_CONFIG_HOME: xdg } };
    const r = await runSetup(run, {
      assignments: [...BASE_FLAGS, ...MODELS],
      tools: ['xcode'],
      self: SELF,
      lazy: true,
      probe: async () => 404,
    });
    expect(r.tools[0]!.files).toEqual([path.join(xdg, 'github-copilot/byok.json')]);
  });

  it('is macOS-only: not detected on Linux even with the folder', async () => {
    mkdirSync(path.join(t.home, APP), { recursive: true });
    await expect(setup(['xcode'])).rejects.toThrow(/not installed|not found|GitHub Copilot for Xcode/);
  });
});
