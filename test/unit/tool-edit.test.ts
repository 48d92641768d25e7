import * as TOML from '@decimalturn/toml-patch';
import { type ParseError, parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/setup/diff.js';
import { patchDotenv, revertDotenv } from '../../src/tools/edit/dotenv.js';
import { inspectJson, patchJson, revertJson } from '../../src/tools/edit/json.js';
import { inspectToml, patchToml, revertToml } from '../../src/tools/edit/toml.js';
import type { KeySetting } from '../../src/tools/edit/types.js';

const claudeSettings: KeySetting[] = [
  { path: ['apiKeyHelper'], value: "'/opt/node' /x/cli.js token" },
  { path: ['env', 'ANTHROPIC_BASE_URL'], value: 'https://llm.example.com' },
  { path: ['env', 'CLAUDE_CODE_API_KEY_HELPER_TTL_MS'], value: '300000' },
];

const jsonCases: Record<string, string> = {
  'comments and unrelated keys': `{
  // my settings
  "model": "opus", // favourite
  /* block */
  "permissions": { "allow": ["Bash(ls)"] }
}
`,
  'existing env with other keys, tabs, CRLF':
    '{\r\n\t"env": {\r\n\t\t"FOO": "bar"\r\n\t},\r\n\t"x": 1\r\n}\r\n',
  'previous values replaced': `{
  "apiKeyHelper": "~/bin/old-helper",
  "env": { "ANTHROPIC_BASE_URL": "https://old.example.com" }
}`,
  'empty object': '{}',
  'empty object with newline': '{\n}\n',
  'trailing comma (JSONC)': '{\n  "a": 1,\n}\n',
  'single line': '{ "a": 1 }',
  'empty file': '',
  'blank file (newline, spaces)': '\n  \n',
  'UTF-8 BOM': '\uFEFF{\n  "a": 1\n}\n',
};

describe('JSON editor', () => {
  for (const [name, src] of Object.entries(jsonCases)) {
    it(`round-trips byte for byte: ${name}`, () => {
      const p = patchJson('settings.json', src, claudeSettings);
      const errors: ParseError[] = [];
      const parsed = parse(p.text.replace(/^\uFEFF/, ''), errors, { allowTrailingComma: true });
      expect(errors).toEqual([]);
      expect(parsed.apiKeyHelper).toBe("'/opt/node' /x/cli.js token");
      expect(parsed.env.ANTHROPIC_BASE_URL).toBe('https://llm.example.com');
      expect(parsed.env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS).toBe('300000');
      expect(inspectJson('f', p.text, p.changes)).toEqual(p.changes.map(() => 'wired'));
      // idempotent: a second patch changes nothing
      const again = patchJson('settings.json', p.text, claudeSettings);
      expect(again.text).toBe(p.text);
      expect(again.changes).toEqual([]);
      const r = revertJson('settings.json', p.text, p.changes, p.backups);
      expect(r.drifted).toEqual([]);
      if (src.trim() === '') expect(r.empty).toBe(true);
      expect(r.text).toBe(src);
    });
  }

  it('keeps comments and formatting of untouched lines', () => {
    const src = jsonCases['comments and unrelated keys']!;
    const p = patchJson('f', src, claudeSettings);
    expect(p.text).toContain('// my settings');
    expect(p.text).toContain('"model": "opus", // favourite');
    expect(p.text).toContain('"permissions": { "allow": ["Bash(ls)"] }');
  });

  it('refuses malformed JSON naming the line', () => {
    expect(() => patchJson('/h/.claude/settings.json', '{\n  "a": 1\n  "b": 2\n}', claudeSettings)).toThrow(
      /\/h\/\.claude\/settings\.json is not valid JSON \(line 3, column 3/,
    );
    expect(() => patchJson('f', '[1]', claudeSettings)).toThrow(/does not hold a JSON object/);
    expect(() => patchJson('f', '{"env": "x"}', claudeSettings)).toThrow(/"env" is not a JSON object/);
  });

  it('refuses a key it would edit that appears twice (readers take the last one)', () => {
    const dup = '{\n  "env": { "A": "1" },\n  "model": "opus",\n  "env": { "B": "2" }\n}\n';
    expect(() => patchJson('settings.json', dup, claudeSettings)).toThrow(
      /settings\.json: "env" appears 2 times.*left the file unchanged/,
    );
    const nested = '{ "env": { "ANTHROPIC_BASE_URL": "a", "ANTHROPIC_BASE_URL": "b" } }';
    expect(() => patchJson('settings.json', nested, claudeSettings)).toThrow(
      /"env\.ANTHROPIC_BASE_URL" appears 2 times/,
    );
    // Duplicates elsewhere in the file are the user's business.
    const other = '{ "model": "a", "model": "b" }';
    expect(patchJson('settings.json', other, claudeSettings).text).toContain('"model": "a", "model": "b"');
  });

  it('leaves a key the user changed since setup, and reports it', () => {
    const src = '{\n  "a": 1\n}\n';
    const p = patchJson('f', src, claudeSettings);
    const edited = p.text.replace('https://llm.example.com', 'https://mine.example.com');
    expect(inspectJson('f', edited, p.changes)).toContain('drifted');
    const r = revertJson('f', edited, p.changes, p.backups);
    expect(r.drifted).toEqual([['env', 'ANTHROPIC_BASE_URL']]);
    const v = JSON.parse(r.text);
    expect(v).toEqual({ a: 1, env: { ANTHROPIC_BASE_URL: 'https://mine.example.com' } });
  });

  it('secret values: previous value goes to backups, only a hash is recorded', () => {
    const src = '{ "apiKey": "sk-user-own-key" }';
    const p = patchJson('f', src, [{ path: ['apiKey'], value: 'gp_local_abc', secret: true }]);
    expect(JSON.stringify(p.changes)).not.toContain('sk-user-own-key');
    expect(JSON.stringify(p.changes)).not.toContain('gp_local_abc');
    expect(Object.values(p.backups)).toEqual(['"sk-user-own-key"']);
    expect(revertJson('f', p.text, p.changes, p.backups).text).toBe(src);
  });
});

const codexSettings: KeySetting[] = [
  { path: ['model_provider'], value: 'gatepass' },
  {
    path: ['model_providers', 'gatepass'],
    value: {
      name: 'gatepass',
      base_url: 'https://llm.example.com/v1',
      wire_api: 'responses',
      auth: { command: '/usr/bin/node', args: ['/x/cli.js', 'token'], refresh_interval_ms: 300000 },
    },
  },
];

const tomlCases: Record<string, string> = {
  'comments, other providers and MCP servers': `# my codex config
model = "gpt-5" # favourite
model_provider = "openai"

[mcp_servers.docs]
command = "docs-mcp"
args = ["--stdio"]

[model_providers.other]
name = "Other"
base_url = "https://other.example.com/v1"
`,
  'no provider yet': '# just a model\nmodel = "o3"\n',
  'empty file': '',
  'blank file (newline, spaces)': '\n  \n',
  'comments only': '# my Codex settings, to come\n\n# model = "o3"\n',
};

describe('TOML editor', () => {
  for (const [name, src] of Object.entries(tomlCases)) {
    it(`round-trips byte for byte: ${name}`, () => {
      const p = patchToml(TOML, 'config.toml', src, codexSettings);
      const v = TOML.parse(p.text);
      expect(v.model_provider).toBe('gatepass');
      expect(v.model_providers.gatepass.auth.args).toEqual(['/x/cli.js', 'token']);
      expect(v.model_providers.gatepass.auth.refresh_interval_ms).toBe(300000);
      if (src.includes('other')) expect(v.model_providers.other.name).toBe('Other');
      if (src.includes('mcp')) expect(p.text).toContain('[mcp_servers.docs]\ncommand = "docs-mcp"');
      expect(inspectToml(TOML, 'f', p.text, p.changes)).toEqual(p.changes.map(() => 'wired'));
      expect(patchToml(TOML, 'config.toml', p.text, codexSettings).changes).toEqual([]);
      const r = revertToml(TOML, 'config.toml', p.text, p.changes, p.backups);
      expect(r.drifted).toEqual([]);
      expect(r.text).toBe(src);
    });
  }

  it("restores the user's previous model_provider", () => {
    const src = tomlCases['comments, other providers and MCP servers']!;
    const p = patchToml(TOML, 'f', src, codexSettings);
    const r = revertToml(TOML, 'f', p.text, p.changes, p.backups);
    expect(TOML.parse(r.text).model_provider).toBe('openai');
  });

  it('refuses malformed TOML and a model_providers that is not a table', () => {
    expect(() => patchToml(TOML, '/h/.codex/config.toml', 'model = \n', codexSettings)).toThrow(
      /\/h\/\.codex\/config\.toml is not valid TOML \(line/,
    );
    expect(() => patchToml(TOML, 'f', 'model_providers = "x"\n', codexSettings)).toThrow(/not a TOML table/);
  });
});

describe('dotenv editor', () => {
  const settings: KeySetting[] = [
    { path: ['GOOGLE_GEMINI_BASE_URL'], value: 'http://127.0.0.1:14000' },
    { path: ['GEMINI_API_KEY'], value: 'gp_local_x y', secret: true },
  ];
  for (const src of ['', '# mine\nFOO=bar\n', 'FOO=bar', 'export GEMINI_API_KEY="AIza-own"\nOTHER=1\n']) {
    it(`round-trips ${JSON.stringify(src)}`, () => {
      const p = patchDotenv('.env', src, settings);
      expect(p.text).toContain('GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:14000');
      expect(p.text).toContain('GEMINI_API_KEY="gp_local_x y"');
      expect(JSON.stringify(p.changes)).not.toContain('AIza-own');
      expect(patchDotenv('.env', p.text, settings).changes).toEqual([]);
      const r = revertDotenv('.env', p.text, p.changes, p.backups);
      expect(r.text).toBe(src);
    });
  }
});

describe('unified diff', () => {
  it('shows removed then added lines with context', () => {
    const d = unifiedDiff('f', 'a\nb\nc\n', 'a\nB\nc\nd\n');
    expect(d).toBe('--- f\n+++ f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d');
    expect(unifiedDiff('f', undefined, 'x\n')).toBe('--- /dev/null\n+++ f\n@@ -0,0 +1,1 @@\n+x');
  });
});

describe('tool paths per platform', () => {
  it('derives every location from the injected home and environment', async () => {
    const { TOOLS, findTool } = await import('../../src/tools/index.js');
    const win = {
      home: 'C:\\Users\\me',
      platform: 'win32' as const,
      env: { APPDATA: 'C:\\Users\\me\\AppData\\Roaming' },
    };
    const mac = { home: '/Users/me', platform: 'darwin' as const, env: {} };
    const linux = { home: '/home/me', platform: 'linux' as const, env: {} };
    expect(findTool('vscode')!.configPath(win)).toBe(
      'C:\\Users\\me\\AppData\\Roaming\\Code\\User\\chatLanguageModels.json',
    );
    expect(findTool('claude')!.configPath(win)).toBe('C:\\Users\\me\\.claude\\settings.json');
    expect(findTool('codex')!.configPath(win)).toBe('C:\\Users\\me\\.codex\\config.toml');
    expect(findTool('vscode-insiders')!.configPath(mac)).toBe(
      '/Users/me/Library/Application Support/Code - Insiders/User/chatLanguageModels.json',
    );
    expect(findTool('cursor')!.configPath(linux)).toBe('/home/me/.config/Cursor/User/settings.json');
    expect(findTool('vscode')!.configPath(linux)).toBe('/home/me/.config/Code/User/chatLanguageModels.json');
    expect(findTool('xcode')!.configPath(mac)).toBe('/Users/me/.config/github-copilot/byok.json');
    expect(findTool('codex')!.configPath({ ...linux, env: { CODEX_HOME: '/srv/codex' } })).toBe(
      '/srv/codex/config.toml',
    );
    expect(await findTool('xcode')!.detect(linux)).toBe(false);
    const { CLAUDE_DESKTOP_CONFIG_ID } = await import('../../src/tools/claude-desktop.js');
    expect(
      findTool('claude-desktop')!.configPath({
        ...win,
        env: { LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' },
      }),
    ).toBe(`C:\\Users\\me\\AppData\\Local\\Claude-3p\\configLibrary\\${CLAUDE_DESKTOP_CONFIG_ID}.json`);
    expect(findTool('claude-desktop')!.configPath(mac)).toBe(
      `/Users/me/Library/Application Support/Claude-3p/configLibrary/${CLAUDE_DESKTOP_CONFIG_ID}.json`,
    );
    expect(CLAUDE_DESKTOP_CONFIG_ID).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(await findTool('claude-desktop')!.detect(linux)).toBe(false);
    expect(TOOLS.map((t) => t.id)).toEqual([
      'claude',
      'claude-desktop',
      'codex',
      'gemini',
      'opencode',
      'vscode',
      'vscode-insiders',
      'xcode',
      'cursor',
    ]);
  });

  it('runs gatepass as node + the real script, also through a symlinked bin; a binary as itself', async () => {
    const { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { resolveSelf } = await import('../../src/tools/self.js');
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'gatepass-self-')));
    try {
      const script = path.join(dir, 'lib/node_modules/gatepass/dist/cli.js');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(path.dirname(script), { recursive: true });
      mkdirSync(path.join(dir, 'bin'));
      writeFileSync(script, '#!/usr/bin/env node\n');
      // npm's global install: bin/gatepass -> ../lib/node_modules/gatepass/dist/cli.js, whose
      // `#!/usr/bin/env node` would need node on PATH: tools get node's absolute path instead.
      symlinkSync('../lib/node_modules/gatepass/dist/cli.js', path.join(dir, 'bin/gatepass'));
      const node = '/opt/node/bin/node';
      expect(resolveSelf(path.join(dir, 'bin/gatepass'), node)).toEqual({ command: node, args: [script] });
      expect(resolveSelf(script, node)).toEqual({ command: node, args: [script] });
      // A single-file executable runs as itself, by its absolute path.
      writeFileSync(path.join(dir, 'bin/gatepass-bin'), 'ELF');
      expect(resolveSelf(path.join(dir, 'bin/gatepass-bin'), node)).toEqual({
        command: path.join(dir, 'bin/gatepass-bin'),
        args: [],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes the gatepass command for the shell', async () => {
    const { selfCommandLine } = await import('../../src/tools/self.js');
    const self = { command: '/Applications/My Tools/node', args: ["/opt/it's/cli.js"] };
    expect(selfCommandLine(self, ['token'], 'linux')).toBe(
      `'/Applications/My Tools/node' '/opt/it'\\''s/cli.js' token`,
    );
    expect(
      selfCommandLine(
        { command: 'C:\\Program Files\\nodejs\\node.exe', args: ['C:\\gp\\cli.js'] },
        ['token'],
        'win32',
      ),
    ).toBe('"C:\\Program Files\\nodejs\\node.exe" "C:\\gp\\cli.js" token');
  });
});

describe('JSON documents that are an array of entries (VS Code chatLanguageModels.json)', () => {
  const entry = { name: 'gatepass', vendor: 'customendpoint', apiKey: 'gp_local_secret' };
  const setting: KeySetting = { path: [], value: entry, element: { key: 'name' }, secret: true };

  it('replaces a same-named entry of the user privately (backup, hash) and gives it back on revert', () => {
    const text =
      '[\n  // mine\n  { "name": "gatepass", "apiKey": "sk-user" }, // keep\n  { "name": "b" }\n]\n';
    const r = patchJson('f.json', text, [setting]);
    expect(JSON.stringify(r.changes)).not.toMatch(/gp_local_secret|sk-user/);
    expect(Object.values(r.backups)).toEqual(['{ "name": "gatepass", "apiKey": "sk-user" }']);
    expect(r.changes[0]).toMatchObject({ element: { key: 'name', id: 'gatepass' } });
    expect(r.changes[0]!.after_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(inspectJson('f.json', r.text, r.changes)).toEqual(['wired']);
    expect(revertJson('f.json', r.text, r.changes, r.backups).text).toBe(text);
    // Changed by the user since: drifted, left alone.
    const edited = r.text.replace('gp_local_secret', 'gp_local_other');
    expect(inspectJson('f.json', edited, r.changes)).toEqual(['drifted']);
    expect(revertJson('f.json', edited, r.changes, r.backups)).toMatchObject({ text: edited, drifted: [[]] });
  });

  it('a blank or missing file becomes an array; revert gives the blank bytes back', () => {
    expect(patchJson('f.json', undefined, [setting]).text).toMatch(/^\[\n {2}\{\n/);
    const r = patchJson('f.json', ' \n', [setting]);
    expect(revertJson('f.json', r.text, r.changes, r.backups)).toMatchObject({ text: ' \n', empty: true });
  });

  it('an object document is refused, unchanged', () => {
    expect(() => patchJson('f.json', '{}', [setting])).toThrow(/f\.json does not hold a JSON array/);
  });
});
