/**
 * setup / teardown / status orchestration on real files in a temporary HOME, with login, logout and
 * proxy control injected (their real implementations are exercised end to end elsewhere).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { unsetFields } from '../../src/config/edit.js';
import { updateConfig } from '../../src/config/store.js';
import { writeProxyState } from '../../src/proxy/state.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { LAZY_MESSAGE, runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { collectStatus } from '../../src/setup/status.js';
import { runTeardown } from '../../src/setup/teardown.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, readHomeFile, setupRunEnv, writeHomeFile } from '../helpers/setup-env.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];

const runEnv = (platform?: NodeJS.Platform) => setupRunEnv({ t, store, out, warnings, platform });
const FLAGS = BASE_FLAGS;
const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };

let logins = 0;
const fakeLogin: NonNullable<SetupOptions['login']> = async () => {
  logins++;
  return { token: 'fake-access-token', origin: 'login' };
};
// The gateway-layout probe answers "no prefix" without touching the network (llm.example.com).
const setup = (tools: string[], extra: Partial<SetupOptions> = {}, platform?: NodeJS.Platform) =>
  runSetup(runEnv(platform), {
    assignments: FLAGS,
    tools,
    self: SELF,
    login: fakeLogin,
    probe: async () => 404,
    ...extra,
  });
const teardown = (extra: Parameters<typeof runTeardown>[1] = {}, platform?: NodeJS.Platform) =>
  runTeardown(runEnv(platform), {
    logout: async () => ({ deleted: true, revoked: false }),
    stopProxy: async () => ({ stopped: true, pid: 1 }),
    ...extra,
  });

const write = (rel: string, text: string) => writeHomeFile(t, rel, text);
const read = (rel: string) => readHomeFile(t, rel);

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
  logins = 0;
});
afterEach(() => t.cleanup());

/** Each tool with a realistic existing file (comments, unrelated keys) at its location. */
const FIXTURES: Array<{ tool: string; platform?: NodeJS.Platform; files: Record<string, string> }> = [
  {
    tool: 'claude',
    files: {
      '.claude/settings.json': `{
  // my Claude settings
  "model": "opus", // favourite
  "env": { "FOO": "bar" },
  "permissions": { "allow": ["Bash(ls)"] }
}
`,
    },
  },
  {
    tool: 'codex',
    files: {
      '.codex/config.toml': `# Codex
model = "gpt-5" # favourite
model_provider = "openai"

[mcp_servers.docs]
command = "docs-mcp"

[model_providers.other]
name = "Other"
base_url = "https://other.example.com/v1"
`,
    },
  },
  {
    tool: 'gemini',
    files: {
      '.gemini/.env': '# gemini\nGEMINI_API_KEY=AIza-my-own-key\nOTHER=1\n',
      '.gemini/settings.json':
        '{\n  "theme": "GitHub", // dark\n  "security": { "auth": { "selectedType": "oauth-personal" } }\n}\n',
    },
  },
  {
    tool: 'opencode',
    files: {
      '.config/opencode/opencode.json':
        '{\n  "$schema": "https://opencode.ai/config.json",\n  "theme": "tokyonight"\n}\n',
    },
  },
  {
    tool: 'vscode',
    files: {
      '.config/Code/User/chatLanguageModels.json':
        '[\n  // mine\n  {\n    "name": "Ollama",\n    "vendor": "ollama",\n  },\n]\n',
    },
  },
  {
    tool: 'vscode-insiders',
    files: {
      '.config/Code - Insiders/User/chatLanguageModels.json':
        '[\n\t{ "name": "OpenAI", "vendor": "openai" }\n]',
    },
  },
  {
    tool: 'vscode',
    platform: 'darwin',
    files: { 'Library/Application Support/Code/User/chatLanguageModels.json': '[]\n' },
  },
  {
    tool: 'vscode',
    platform: 'win32',
    files: {
      'AppData/Roaming/Code/User/chatLanguageModels.json':
        '[\r\n  // windows\r\n  { "name": "Groq", "vendor": "groq" }\r\n]\r\n',
    },
  },
  {
    tool: 'claude',
    platform: 'win32',
    files: { '.claude/settings.json': '{\r\n  "model": "opus" // CRLF\r\n}\r\n' },
  },
  {
    tool: 'codex',
    platform: 'win32',
    files: { '.codex/config.toml': '# CRLF\r\nmodel_provider = "openai"\r\n' },
  },
  { tool: 'claude', files: { '.claude/settings.json': '\n' } },
  { tool: 'codex', files: { '.codex/config.toml': '# nothing yet\n' } },
];

describe('setup → teardown restores every tool file byte for byte', () => {
  for (const fx of FIXTURES) {
    it(`${fx.tool}${fx.platform ? ` (${fx.platform})` : ''}: existing files with comments and unrelated keys`, async () => {
      for (const [rel, text] of Object.entries(fx.files)) write(rel, text);
      const r = await setup([fx.tool], { lazy: true }, fx.platform);
      expect(r.tools[0]!.changed).toBe(true);
      for (const rel of Object.keys(fx.files)) expect(read(rel)).not.toBe(fx.files[rel]);
      const status = await collectStatus(runEnv(fx.platform));
      expect(status.tools.map((x) => [x.tool, x.state])).toEqual([[fx.tool, 'wired']]);
      // The config never holds the user's previous secret values nor the local proxy key.
      const cfg = readFileSync(t.configFile, 'utf8');
      expect(cfg).not.toMatch(/AIza-my-own-key|sk-own|gp_local_/);
      await teardown({}, fx.platform);
      for (const [rel, text] of Object.entries(fx.files)) expect(read(rel)).toBe(text);
      expect(warnings).toEqual([]);
      expect((await collectStatus(runEnv(fx.platform))).tools).toEqual([]);
    });

    it(`${fx.tool}${fx.platform ? ` (${fx.platform})` : ''}: files that did not exist are removed again`, async () => {
      // The tool is "installed" (its directory exists) but has no config file yet.
      const dirs = Object.keys(fx.files).map((rel) => path.join(t.home, path.dirname(rel)));
      const root = path.join(t.home, Object.keys(fx.files)[0]!.split('/')[0]!);
      mkdirSync(dirs[0]!, { recursive: true });
      await setup([fx.tool], { lazy: true }, fx.platform);
      for (const rel of Object.keys(fx.files)) expect(existsSync(path.join(t.home, rel))).toBe(true);
      await teardown({}, fx.platform);
      for (const rel of Object.keys(fx.files)) expect(existsSync(path.join(t.home, rel))).toBe(false);
      expect(existsSync(dirs[0]!)).toBe(true); // the user's directory stays
      expect(existsSync(root)).toBe(true);
    });
  }
});

describe('detection (no --tools)', () => {
  const fakeCommand = (dir: string, name: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
  };
  const entries = () =>
    (YAML.parse(readFileSync(t.configFile, 'utf8')) as { configured_tools: unknown[] }).configured_tools;

  it('wires exactly the tools whose config dir exists or whose command is on PATH, and records each', async () => {
    mkdirSync(path.join(t.home, '.claude')); // Claude Code: by its directory
    const bin = path.join(t.home, 'bin');
    fakeCommand(bin, 'gemini'); // Gemini CLI: by its command on PATH
    fakeCommand(bin, 'not-a-tool');
    const run = { ...runEnv(), env: { ...runEnv().env, PATH: `/nonexistent:${bin}` } };
    const r = await runSetup(run, { assignments: FLAGS, self: SELF, login: fakeLogin, lazy: true });
    expect(r.tools.map((x) => x.id)).toEqual(['claude', 'gemini']);
    expect(entries()).toEqual([
      expect.objectContaining({
        tool: 'claude',
        mode: 'direct',
        config_path: path.join(t.home, '.claude/settings.json'),
        provider: 'default',
      }),
      expect.objectContaining({
        tool: 'gemini',
        mode: 'proxy',
        config_path: path.join(t.home, '.gemini/.env'),
        provider: 'default',
      }),
    ]);
    // Nothing of the tools that are not installed was created.
    for (const rel of ['.codex', '.config/opencode', '.config/Code', '.config/Cursor'])
      expect(existsSync(path.join(t.home, rel))).toBe(false);
  });

  it('Windows: a command found through PATHEXT; macOS: GitHub Copilot for Xcode by its folder', async () => {
    const bin = path.join(t.home, 'bin');
    fakeCommand(bin, 'codex.cmd');
    const win = {
      ...runEnv('win32'),
      env: { ...runEnv('win32').env, PATH: `C:\\nope;${bin}`, PATHEXT: '.EXE;.CMD' },
    };
    const r = await runSetup(win, { assignments: FLAGS, self: SELF, login: fakeLogin, lazy: true });
    expect(r.tools.map((x) => x.id)).toEqual(['codex']);
    expect(existsSync(path.join(t.home, '.codex/config.toml'))).toBe(true);
    await runTeardown(win, { logout: async () => ({ deleted: false, revoked: false }) });
    expect(existsSync(path.join(t.home, '.codex'))).toBe(false);

    mkdirSync(path.join(t.home, 'Library/Application Support/GitHub Copilot for Xcode'), { recursive: true });
    const mac = await runSetup(runEnv('darwin'), {
      assignments: FLAGS,
      self: SELF,
      login: fakeLogin,
      lazy: true,
    });
    expect(mac.tools.map((x) => x.id)).toEqual(['xcode']);
    // The same folder means nothing on Linux.
    rmSync(t.configFile);
    const linux = await runSetup(runEnv(), {
      assignments: FLAGS,
      self: SELF,
      login: fakeLogin,
      lazy: true,
      dryRun: true,
    });
    expect(linux.tools).toEqual([]);
  });
});

describe('setup', () => {
  const claudeFile = '.claude/settings.json';
  const codexFile = '.codex/config.toml';
  const claudeText = '{\n  // mine\n  "model": "opus"\n}\n';
  const codexText = '# mine\nmodel_provider = "openai"\n';

  it('wires Claude Code as a token helper with the 5-minute TTL, and Codex with auth.command', async () => {
    write(claudeFile, claudeText);
    write(codexFile, codexText);
    await setup(['claude', 'codex']);
    const claude = JSON.parse(read(claudeFile).replace('// mine', ''));
    // The TTL invariant: tools re-run the helper every 5 min and get a token valid >= 10 min.
    // Tools run the launcher (rewritten by every setup), pinned to this setup's config and provider.
    const launcher = path.join(t.home, '.local/share/gatepass/bin/gatepass');
    expect(claude.apiKeyHelper).toBe(
      `${launcher} --config ${t.configFile} --provider default token --min-valid 600`,
    );
    expect(readFileSync(launcher, 'utf8')).toContain(
      `exec '/opt/node/bin/node' '/opt/gatepass/dist/cli.js' "$@"`,
    );
    expect(statSync(launcher).mode & 0o777).toBe(0o700);
    expect(claude.env).toEqual({
      ANTHROPIC_BASE_URL: 'https://llm.example.com',
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '300000',
    });
    const codex = TOML.parse(read(codexFile));
    expect(codex.model_provider).toBe('gatepass');
    expect(codex.model_providers.gatepass).toEqual({
      name: 'gatepass',
      base_url: 'https://llm.example.com/v1',
      wire_api: 'responses',
      auth: {
        command: launcher,
        args: ['--config', t.configFile, '--provider', 'default', 'token', '--min-valid', '600'],
        refresh_interval_ms: 300000,
        // A whole login (5 min) plus a minute: Codex's 5 s default would cut a first sign-in off.
        timeout_ms: 360000,
      },
    });
    expect(logins).toBe(1);
  });

  it('lazy setup writes the same tool files and config as a normal setup, and does not log in', async () => {
    write(claudeFile, claudeText);
    write(codexFile, codexText);
    await setup(['claude', 'codex']);
    const normal = [read(claudeFile), read(codexFile), readFileSync(t.configFile, 'utf8')];
    expect(logins).toBe(1);
    await teardown();
    expect([read(claudeFile), read(codexFile)]).toEqual([claudeText, codexText]);
    rmConfig();
    out = [];
    await setup(['claude', 'codex'], { lazy: true });
    expect(logins).toBe(1); // no further login
    expect(out).toContain(LAZY_MESSAGE);
    // The same, apart from the model discovery the lazy setup leaves to the first token.
    const lazyConfig = readFileSync(t.configFile, 'utf8');
    expect(lazyConfig).toMatch(/^ {4}models_pending: true\n/m);
    expect([
      read(claudeFile),
      read(codexFile),
      lazyConfig.replace(/^ {4}models_pending: true\n/m, ''),
    ]).toEqual(normal);
  });

  it('a failed login rolls back every tool file, the config file and a new proxy key', async () => {
    write(claudeFile, claudeText);
    mkdirSync(path.join(t.home, '.gemini'));
    write('.config/gatepass/config.yaml', '# my config\nproxy:\n  listen_port: 15000\n');
    const configBefore = readFileSync(t.configFile, 'utf8');
    await expect(
      setup(['claude', 'gemini'], {
        login: async () => {
          throw new Error('IdP said no');
        },
      }),
    ).rejects.toThrow(/IdP said no/);
    expect(read(claudeFile)).toBe(claudeText);
    expect(existsSync(path.join(t.home, '.gemini/.env'))).toBe(false);
    expect(existsSync(path.join(t.home, '.gemini/settings.json'))).toBe(false);
    expect(readFileSync(t.configFile, 'utf8')).toBe(configBefore);
    expect(await store.get('GATEPASS_LOCAL_PROXY_KEY')).toBeUndefined();
  });

  it('is idempotent: a second run changes no byte', async () => {
    write(claudeFile, claudeText);
    write(codexFile, codexText);
    mkdirSync(path.join(t.home, '.gemini'));
    await setup(['claude', 'codex', 'gemini']);
    const first = [
      read(claudeFile),
      read(codexFile),
      read('.gemini/.env'),
      readFileSync(t.configFile, 'utf8'),
    ];
    const r = await setup(['claude', 'codex', 'gemini']);
    expect(r.tools.every((x) => !x.changed)).toBe(true);
    expect([
      read(claudeFile),
      read(codexFile),
      read('.gemini/.env'),
      readFileSync(t.configFile, 'utf8'),
    ]).toEqual(first);
    // …and teardown after two runs still restores the original files.
    await teardown();
    expect([read(claudeFile), read(codexFile)]).toEqual([claudeText, codexText]);
  });

  it('a changed gateway URL on re-run updates the tools and teardown still restores the originals', async () => {
    write(codexFile, codexText);
    await setup(['codex']);
    await runSetup(runEnv(), {
      assignments: [['gateway_url', 'https://llm2.example.com']],
      tools: ['codex'],
      self: SELF,
      login: fakeLogin,
    });
    expect(TOML.parse(read(codexFile)).model_providers.gatepass.base_url).toBe('https://llm2.example.com/v1');
    await teardown();
    expect(read(codexFile)).toBe(codexText);
  });

  it('refuses a malformed settings.json or config.toml and changes nothing at all', async () => {
    const bad = '{\n  "model": "opus"\n  "x": 1\n}\n';
    write(claudeFile, bad);
    write(codexFile, codexText);
    await expect(setup(['codex', 'claude'])).rejects.toThrow(/settings\.json is not valid JSON \(line 3/);
    expect(read(claudeFile)).toBe(bad);
    expect(read(codexFile)).toBe(codexText);
    expect(existsSync(t.configFile)).toBe(false);
    write(claudeFile, claudeText);
    write(codexFile, 'model = \n');
    await expect(setup(['claude', 'codex'])).rejects.toThrow(/config\.toml is not valid TOML/);
    expect(read(claudeFile)).toBe(claudeText);
    expect(read(codexFile)).toBe('model = \n');
    expect(logins).toBe(0);
  });

  it('rejects invalid inline flags before touching anything', async () => {
    write(claudeFile, claudeText);
    await expect(
      runSetup(runEnv(), {
        assignments: [['gateway_url', 'http://llm.example.com']],
        tools: ['claude'],
        self: SELF,
      }),
    ).rejects.toThrow(/must use https/);
    await expect(
      runSetup(runEnv(), { assignments: FLAGS.slice(0, 2), tools: ['claude'], self: SELF }),
    ).rejects.toThrow(/missing oidc\.client_id/);
    expect(read(claudeFile)).toBe(claudeText);
    expect(existsSync(t.configFile)).toBe(false);
  });

  it('--tools naming a tool that is not installed is a clear error', async () => {
    await expect(setup(['codex'])).rejects.toMatchObject({ code: 'E_TOOL_NOT_INSTALLED' });
    await expect(setup(['nope'])).rejects.toMatchObject({ code: 'E_USAGE' });
    expect(existsSync(t.configFile)).toBe(false);
  });

  it('dry run prints a diff per file and changes nothing', async () => {
    write(claudeFile, claudeText);
    await setup(['claude'], { dryRun: true });
    expect(read(claudeFile)).toBe(claudeText);
    expect(existsSync(t.configFile)).toBe(false);
    const diff = out.join('\n');
    expect(diff).toContain(`+++ ${path.join(t.home, claudeFile)}`);
    expect(diff).toContain(
      `+  "apiKeyHelper": "${path.join(t.home, '.local/share/gatepass/bin/gatepass')} --config ${t.configFile} --provider default token --min-valid 600",`,
    );
    // Nor is the launcher written.
    expect(existsSync(path.join(t.home, '.local/share/gatepass/bin'))).toBe(false);
    expect(logins).toBe(0);
  });

  it('dry run never shows the local proxy key or a previous API key', async () => {
    write('.gemini/.env', 'GEMINI_API_KEY=AIza-my-own-key\n');
    await setup(['gemini'], { lazy: true });
    await teardown();
    out = [];
    await setup(['gemini'], { dryRun: true });
    const key = (await store.get('GATEPASS_LOCAL_PROXY_KEY'))!;
    const diff = out.join('\n');
    expect(diff).toContain('-GEMINI_API_KEY=<redacted>');
    expect(diff).toContain('+GEMINI_API_KEY=<redacted>');
    expect(diff).not.toContain(key);
    expect(diff).not.toContain('AIza-my-own-key');
  });
});

describe('manual tools and the local proxy key', () => {
  it('Cursor is not edited: exact steps are printed and nothing is recorded', async () => {
    mkdirSync(path.join(t.home, '.config/Cursor/User'), { recursive: true });
    const r = await setup(['cursor'], { lazy: true });
    expect(r.manual.join('\n')).toMatch(/Cursor's servers/);
    expect(out.join('\n')).toMatch(/Cursor: not configured automatically/);
    expect(existsSync(path.join(t.home, '.config/Cursor/User/settings.json'))).toBe(false);
    expect((await collectStatus(runEnv())).tools).toEqual([]);
  });

  it('a refused file leaves no new local proxy key behind', async () => {
    mkdirSync(path.join(t.home, '.gemini'));
    write('.gemini/settings.json', '{ nope');
    await expect(setup(['gemini'])).rejects.toThrow(/not valid JSON/);
    expect(await store.get('GATEPASS_LOCAL_PROXY_KEY')).toBeUndefined();
    expect(existsSync(path.join(t.home, '.gemini/.env'))).toBe(false);
  });
});

describe('Claude Code caveats', () => {
  it('says when a credential in the environment would take precedence over the apiKeyHelper', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const base = runEnv();
    const run = { ...base, env: { ...base.env, ANTHROPIC_API_KEY: 'sk-ant-from-shell' } };
    await runSetup(run, { assignments: FLAGS, tools: ['claude'], self: SELF, lazy: true });
    const text = out.join('\n');
    expect(text).toContain(
      "Claude Code: ANTHROPIC_API_KEY is set in your environment and takes precedence over gatepass' apiKeyHelper",
    );
    expect(text).not.toContain('ANTHROPIC_AUTH_TOKEN');
    expect(text).not.toContain('sk-ant-from-shell');
    out = [];
    await runSetup(runEnv(), { assignments: FLAGS, tools: ['claude'], self: SELF, lazy: true });
    expect(out.join('\n')).not.toContain('takes precedence');
  });
});

describe('Gemini CLI caveats and GEMINI_CLI_HOME', () => {
  it('says when GEMINI_API_KEY in the environment would override ~/.gemini/.env; honours GEMINI_CLI_HOME', async () => {
    const alt = path.join(t.home, 'alt-home');
    mkdirSync(path.join(alt, '.gemini'), { recursive: true });
    const base = runEnv();
    const run = { ...base, env: { ...base.env, GEMINI_CLI_HOME: alt, GEMINI_API_KEY: 'AIza-from-shell' } };
    const r = await runSetup(run, { assignments: FLAGS, tools: ['gemini'], self: SELF, lazy: true });
    expect(r.tools[0]!.files).toEqual([
      path.join(alt, '.gemini/.env'),
      path.join(alt, '.gemini/settings.json'),
    ]);
    expect(existsSync(path.join(t.home, '.gemini'))).toBe(false);
    const text = out.join('\n');
    expect(text).toContain(
      'Gemini CLI: GEMINI_API_KEY is set in your environment and overrides ~/.gemini/.env',
    );
    expect(text).not.toContain('GOOGLE_GEMINI_BASE_URL is set in your environment');
    expect(text).toContain("a project's own .env (or .gemini/.env) hides ~/.gemini/.env");
    expect(text).not.toContain('AIza-from-shell');
    await runTeardown(run, { logout: async () => ({ deleted: false, revoked: false }) });
    expect(existsSync(path.join(alt, '.gemini/.env'))).toBe(false);
  });
});

describe('teardown and status', () => {
  it("leaves a value the user changed since setup, warns, and restores the rest; restores Codex's model_provider", async () => {
    write('.claude/settings.json', '{\n  "model": "opus"\n}\n');
    write('.codex/config.toml', 'model_provider = "azure"\n');
    await setup(['claude', 'codex']);
    const f = path.join(t.home, '.claude/settings.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('https://llm.example.com', 'https://mine.example.com'));
    const st = await collectStatus(runEnv());
    expect(st.tools.map((x) => x.state)).toEqual(['drifted', 'wired']);
    await teardown();
    expect(warnings.join('\n')).toMatch(/env\.ANTHROPIC_BASE_URL was changed since setup/);
    const claude = JSON.parse(read('.claude/settings.json'));
    expect(claude).toEqual({ model: 'opus', env: { ANTHROPIC_BASE_URL: 'https://mine.example.com' } });
    expect(read('.codex/config.toml')).toBe('model_provider = "azure"\n');
  });

  it('teardown --tools undoes one tool; tokens are kept unless purged; the proxy stops with the last proxy tool', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.gemini'));
    await setup(['claude', 'gemini']);
    await writeProxyState(runEnv().paths, {
      pid: 999999,
      port: 14000,
      url: 'http://127.0.0.1:14000',
      provider: 'default',
      startedAt: 0,
    });
    const calls: string[] = [];
    const deps = {
      logout: async () => {
        calls.push('logout');
        return { deleted: true, revoked: false };
      },
      stopProxy: async () => {
        calls.push('stop');
        return { stopped: true, pid: 999999 };
      },
    };
    const r1 = await teardown({ tools: ['claude'], ...deps });
    expect(r1.tools.map((x) => x.id)).toEqual(['claude']);
    expect(calls).toEqual([]); // partial: tokens kept, gemini still needs the proxy
    expect((await collectStatus(runEnv())).tools.map((x) => x.tool)).toEqual(['gemini']);
    const r2 = await teardown({ ...deps });
    expect(r2.tokensDeleted).toBe(true);
    expect(r2.proxyStopped).toBe(true);
    expect(calls).toEqual(['logout', 'stop']);
    expect(existsSync(path.join(t.home, '.gemini/.env'))).toBe(false);
    await expect(teardown({ purgeTokens: true, keepTokens: true })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
  });

  it('a wired file that became malformed is left untouched and reported; the other tools are undone', async () => {
    write('.claude/settings.json', '{\n  "model": "opus"\n}\n');
    write('.codex/config.toml', 'model = "gpt-5"\n');
    await setup(['claude', 'codex']);
    const f = path.join(t.home, '.claude/settings.json');
    const broken = `${readFileSync(f, 'utf8')},,`;
    writeFileSync(f, broken);
    const r = await teardown();
    expect(r.failed).toEqual([
      { id: 'claude', error: expect.stringMatching(/settings\.json is not valid JSON/) },
    ]);
    expect(readFileSync(f, 'utf8')).toBe(broken);
    expect(read('.codex/config.toml')).toBe('model = "gpt-5"\n');
    // Still recorded: once the user repairs the file, teardown finishes the job.
    expect((await collectStatus(runEnv())).tools.map((x) => [x.tool, x.state])).toEqual([
      ['claude', 'drifted'],
    ]);
    writeFileSync(f, broken.slice(0, -2));
    const again = await teardown();
    expect(again.failed).toEqual([]);
    expect(read('.claude/settings.json')).toBe('{\n  "model": "opus"\n}\n');
  });

  it('status reports missing when a wired file was deleted, login state from token_ref, no secrets', async () => {
    mkdirSync(path.join(t.home, '.gemini'));
    await setup(['gemini']);
    const key = await store.get('GATEPASS_LOCAL_PROXY_KEY');
    expect(read('.gemini/.env')).toContain(`GEMINI_API_KEY=${key}`);
    const st = await collectStatus(runEnv());
    expect(JSON.stringify(st)).not.toContain(key!);
    expect(st.providers[0]).toMatchObject({ name: 'default', logged_in: false, token_expires_at: null });
    expect(st.proxy).toMatchObject({ running: false, pid: null });
    writeFileSync(path.join(t.home, '.gemini/.env'), '');
    expect((await collectStatus(runEnv())).tools[0]!.state).toBe('missing');
  });
});

function rmConfig(): void {
  rmSync(t.configFile);
}

describe('CLI', () => {
  it('setup --dry-run prints diffs and writes nothing; --lazy prints the exact message; status --json', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const env = { ...t.env, PATH: '/usr/bin:/bin' };
    const flags = [
      '--gateway-url',
      'https://llm.example.com',
      '--issuer',
      'https://sso.example.com',
      '--client-id',
      'gp',
    ];
    mkdirSync(path.join(t.home, '.gemini'));
    const tree = () => readdirSync(t.home, { recursive: true }).map(String).sort();
    const before = tree();
    // A proxy-mode tool makes the dry run read the local proxy key: the secret store is only read.
    const dry = await runGatepass(['setup', ...flags, '--tools', 'claude,gemini', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('--- /dev/null');
    expect(dry.stdout).toContain('"apiKeyHelper": ');
    expect(dry.stdout).toContain(`+++ ${path.join(t.home, '.gemini/.env')}`);
    expect(tree()).toEqual(before);
    const lazy = await runGatepass(['setup', ...flags, '--tools', 'claude', '--lazy'], { env });
    expect(lazy.code).toBe(0);
    expect(lazy.stdout).toBe('');
    expect(lazy.stderr).toContain(LAZY_MESSAGE);
    const helper = JSON.parse(read('.claude/settings.json')).apiKeyHelper as string;
    expect(helper).toMatch(/ token --min-valid 600$/);
    const launcher = helper.split(' ')[0]!;
    expect(readFileSync(launcher, 'utf8')).toContain('dist/cli.cjs');
    // Wired, and its helper starts; but nobody signed in yet (lazy): status exits 1 saying so.
    const st = await runGatepass(['status', '--json'], { env });
    expect(st.code).toBe(1);
    const report = JSON.parse(st.stdout);
    expect(report.tools[0]).toMatchObject({ tool: 'claude', state: 'wired', reason: null });
    expect(report.problems).toEqual([
      'provider "default" is not logged in: run `gatepass login` (or let a tool sign in on first use)',
    ]);
    const notInstalled = await runGatepass(['setup', '--tools', 'codex', '--lazy'], { env });
    expect(notInstalled.code).toBe(1);
    expect(notInstalled.stderr).toMatch(/Codex CLI \(codex\) is not installed/);
    const td = await runGatepass(['teardown', '--keep-tokens'], { env });
    expect(td.code).toBe(0);
    expect(existsSync(path.join(t.home, '.claude/settings.json'))).toBe(false);
  });
});

describe('CLI errors', () => {
  it('a malformed settings.json: exit 1, file and line named, nothing changed', async () => {
    const bad = '{\n  "model": "opus",,\n}\n';
    write('.claude/settings.json', bad);
    const env = { ...t.env, PATH: '/usr/bin:/bin' };
    const r = await runGatepass(
      [
        'setup',
        '--gateway-url',
        'https://llm.example.com',
        '--issuer',
        'https://sso.example.com',
        '--client-id',
        'gp',
        '--tools',
        'claude',
        '--lazy',
      ],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(t.home, '.claude/settings.json')} is not valid JSON (line 2`);
    expect(r.stdout).toBe('');
    expect(read('.claude/settings.json')).toBe(bad);
    expect(existsSync(t.configFile)).toBe(false);
    const usage = await runGatepass(['teardown', '--purge-tokens', '--keep-tokens'], { env });
    expect(usage.code).toBe(2);
  });
});

describe('file modes', () => {
  it("keeps an existing file's mode; creates new files 0600 in 0700 directories", async () => {
    const f = write('.claude/settings.json', '{}\n');
    chmodSync(f, 0o644);
    mkdirSync(path.join(t.home, '.gemini'));
    await setup(['claude', 'gemini'], { lazy: true });
    expect(statSync(f).mode & 0o777).toBe(0o644);
    expect(statSync(path.join(t.home, '.gemini/.env')).mode & 0o777).toBe(0o600);
    await teardown();
    expect(statSync(f).mode & 0o777).toBe(0o644);
    expect(read('.claude/settings.json')).toBe('{}\n');
  });
});

describe('re-running setup after the user changed things', () => {
  it("a key the user changed since becomes the new 'before'; a deleted file starts over", async () => {
    const f = write('.claude/settings.json', '{\n  "apiKeyHelper": "old-helper"\n}\n');
    await setup(['claude']);
    // The user points the helper elsewhere, then runs setup again: teardown restores *their* value.
    writeFileSync(
      f,
      readFileSync(f, 'utf8').replace(/"apiKeyHelper": "[^"]*"/, '"apiKeyHelper": "users-new-helper"'),
    );
    await setup(['claude']);
    await teardown();
    expect(JSON.parse(read('.claude/settings.json')).apiKeyHelper).toBe('users-new-helper');
    // Deleted while wired: re-running setup records the file as created, so teardown removes it.
    await setup(['claude']);
    rmSync(f);
    await setup(['claude']);
    await teardown();
    expect(existsSync(f)).toBe(false);
  });
});

describe('TLS options in direct-mode tools', () => {
  const claudeFile = '.claude/settings.json';
  let ca: TestCa;
  beforeEach(() => {
    ca = makeTestCa();
  });
  afterEach(() => ca.cleanup());
  const clearCa = () =>
    updateConfig(t.configFile, (cfg) => unsetFields(cfg, cfg.default_provider, ['tls.ca_file']));

  it('writes NODE_EXTRA_CA_CERTS / NODE_TLS_REJECT_UNAUTHORIZED; clearing an option restores the previous value', async () => {
    const original = '{\n  "env": { "FOO": "bar", "NODE_TLS_REJECT_UNAUTHORIZED": "1" }\n}\n';
    write(claudeFile, original);
    write('.codex/config.toml', 'model = "gpt-5"\n');
    await setup(['claude', 'codex'], {
      assignments: [...FLAGS, ['tls.ca_file', ca.caFile], ['tls.skip_verify', 'true']],
    });
    let env = JSON.parse(read(claudeFile)).env;
    expect(env).toMatchObject({
      FOO: 'bar',
      NODE_EXTRA_CA_CERTS: ca.caFile,
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
    // Codex reads a custom CA only from its environment: the user is told, nothing is invented.
    expect(out.join('\n')).toContain(`export CODEX_CA_CERTIFICATE=${ca.caFile}`);
    const provider = (await collectStatus(runEnv())).providers[0]!;
    expect(provider).toMatchObject({ tls_ca_file: ca.caFile, tls_skip_verify: true });
    expect(read('.codex/config.toml')).not.toMatch(/CA_CERT|SSL_CERT/);

    // Re-setup with skip-verify cleared: the user's own value comes back, the CA stays.
    await setup(['claude', 'codex'], { assignments: [...FLAGS, ['tls.skip_verify', 'false']] });
    env = JSON.parse(read(claudeFile)).env;
    expect(env.NODE_TLS_REJECT_UNAUTHORIZED).toBe('1');
    expect(env.NODE_EXTRA_CA_CERTS).toBe(ca.caFile);

    // Re-setup with the CA cleared: the key gatepass added is gone again.
    await clearCa();
    await setup(['claude', 'codex']);
    env = JSON.parse(read(claudeFile)).env;
    expect(env).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(env.NODE_TLS_REJECT_UNAUTHORIZED).toBe('1');

    await teardown();
    expect(read(claudeFile)).toBe(original);
  });

  it('says when --ca-file replaces a different NODE_EXTRA_CA_CERTS bundle of the environment for Claude Code', async () => {
    mkdirSync(path.join(t.home, '.claude'), { recursive: true });
    const assignments = [...FLAGS, ['tls.ca_file', ca.caFile]] as typeof FLAGS;
    const withEnv = (value: string) => {
      const base = runEnv();
      return { ...base, env: { ...base.env, NODE_EXTRA_CA_CERTS: value } };
    };
    const opts = { assignments, tools: ['claude'], self: SELF, login: fakeLogin, probe: async () => 404 };
    await runSetup(withEnv('/etc/corp/bundle.pem'), opts);
    expect(out.join('\n')).toContain(
      `Claude Code: it will trust ${ca.caFile} instead of the NODE_EXTRA_CA_CERTS bundle in your environment (/etc/corp/bundle.pem)`,
    );
    out = [];
    await runSetup(withEnv(ca.caFile), opts);
    expect(out.join('\n')).not.toContain('NODE_EXTRA_CA_CERTS bundle in your environment');
  });

  it('teardown removes the TLS keys; a file gatepass created (env block and all) is removed', async () => {
    mkdirSync(path.join(t.home, '.claude'), { recursive: true });
    await setup(['claude'], {
      assignments: [...FLAGS, ['tls.ca_file', ca.caFile], ['tls.skip_verify', 'true']],
    });
    expect(JSON.parse(read(claudeFile)).env.NODE_TLS_REJECT_UNAUTHORIZED).toBe('0');
    // Cleared on re-setup although gatepass created the whole env block in one change.
    await setup(['claude'], { assignments: [...FLAGS, ['tls.skip_verify', 'false']] });
    expect(JSON.parse(read(claudeFile)).env).not.toHaveProperty('NODE_TLS_REJECT_UNAUTHORIZED');
    expect(JSON.parse(read(claudeFile)).env.NODE_EXTRA_CA_CERTS).toBe(ca.caFile);
    await teardown();
    expect(existsSync(path.join(t.home, claudeFile))).toBe(false);
  });

  it('refuses a CA file that is missing or not PEM before touching anything', async () => {
    write(claudeFile, '{}\n');
    const bad = path.join(ca.dir, 'bad.pem');
    writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n');
    await expect(setup(['claude'], { assignments: [...FLAGS, ['tls.ca_file', bad]] })).rejects.toThrow(
      /invalid tls\.ca_file: certificate 1 in .* is not a valid X\.509 certificate/,
    );
    expect(read(claudeFile)).toBe('{}\n');
    expect(existsSync(t.configFile)).toBe(false);
  });
});
