/**
 * Managed tool settings that override gatepass' wiring, per platform, with the system files in a
 * temporary root (GATEPASS_SYSTEM_ROOT) and Windows' `reg query` injected.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findManagedConflicts, systemPath } from '../../src/tools/managed-conflicts.js';

let root: string;
const ALL = ['claude', 'claude-desktop', 'codex'];

function put(rel: string, content: string | Buffer): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'gp-sysroot-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('managed settings conflicts', () => {
  it('Linux: Claude Code managed-settings.json and drop-ins, Codex managed_config.toml; other keys are fine', async () => {
    const a = put('etc/claude-code/managed-settings.json', '{"apiKeyHelper":"/x","permissions":{}}');
    put('etc/claude-code/managed-settings.d/20-ok.json', '{"model":"opus"}');
    const b = put(
      'etc/claude-code/managed-settings.d/10-env.json',
      '{"env":{"ANTHROPIC_BASE_URL":"https://c"}}',
    );
    const c = put('etc/codex/managed_config.toml', '[model_providers.gatepass]\nbase_url = "https://c"\n');
    const env = { platform: 'linux' as const, env: { GATEPASS_SYSTEM_ROOT: root } };
    expect(await findManagedConflicts(env, ALL)).toEqual([
      { tool: 'claude', source: a, keys: ['apiKeyHelper'] },
      { tool: 'claude', source: b, keys: ['env.ANTHROPIC_BASE_URL'] },
      { tool: 'codex', source: c, keys: ['model_providers.gatepass'] },
    ]);
    // Only the tools asked about; nothing for a malformed file.
    expect(await findManagedConflicts(env, ['codex'])).toHaveLength(1);
    put('etc/claude-code/managed-settings.json', '{ not json');
    expect((await findManagedConflicts(env, ['claude'])).map((x) => x.source)).toEqual([b]);
  });

  it('macOS: Claude Code, Claude Desktop MDM plists (XML and binary), Codex MDM config_toml_base64', async () => {
    const a = put(
      'Library/Application Support/ClaudeCode/managed-settings.json',
      '{"env":{"ANTHROPIC_AUTH_TOKEN":"t"}}',
    );
    const d1 = put(
      'Library/Managed Preferences/com.anthropic.claudefordesktop.plist',
      '<?xml version="1.0"?><plist><dict><key>inferenceProvider</key><string>vertex</string><key>chatTabEnabled</key><string>true</string></dict></plist>',
    );
    const d2 = put(
      'Library/Managed Preferences/dave/com.anthropic.claudefordesktop.plist',
      Buffer.concat([
        Buffer.from('bplist00'),
        Buffer.from([0xd1, 0x01, 0x02, 0x5f]),
        Buffer.from('inferenceGatewayBaseUrl'),
      ]),
    );
    const toml = Buffer.from('model_provider = "corp"\n').toString('base64');
    const cx = put(
      'Library/Managed Preferences/com.openai.codex.plist',
      `<plist><dict><key>config_toml_base64</key><string>${toml}</string></dict></plist>`,
    );
    const env = { platform: 'darwin' as const, env: { GATEPASS_SYSTEM_ROOT: root, USER: 'dave' } };
    expect(await findManagedConflicts(env, ALL)).toEqual([
      { tool: 'claude', source: a, keys: ['env.ANTHROPIC_AUTH_TOKEN'] },
      { tool: 'claude-desktop', source: d1, keys: ['inferenceProvider'] },
      { tool: 'claude-desktop', source: d2, keys: ['inferenceGatewayBaseUrl'] },
      { tool: 'codex', source: `${cx} (config_toml_base64)`, keys: ['model_provider'] },
    ]);
  });

  it('Windows: C:\\Program Files\\ClaudeCode and the policy registry keys', async () => {
    const a = put('Program Files/ClaudeCode/managed-settings.json', '{"apiKeyHelper":"x"}');
    const queried: string[] = [];
    const reg: Record<string, string> = {
      'HKCU\\SOFTWARE\\Policies\\ClaudeCode':
        '\r\nHKEY_CURRENT_USER\\SOFTWARE\\Policies\\ClaudeCode\r\n    Settings    REG_SZ    {"env":{"ANTHROPIC_BASE_URL":"https://c"}}\r\n',
      'HKLM\\SOFTWARE\\Policies\\Claude':
        '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Claude\r\n    inferenceProvider    REG_SZ    bedrock\r\n    chatTabEnabled    REG_SZ    true\r\n',
    };
    const env = {
      platform: 'win32' as const,
      env: { GATEPASS_SYSTEM_ROOT: root },
      regQuery: (key: string) => {
        queried.push(key);
        return Promise.resolve(reg[key]);
      },
    };
    expect(await findManagedConflicts(env, ALL)).toEqual([
      { tool: 'claude', source: a, keys: ['apiKeyHelper'] },
      { tool: 'claude', source: 'HKCU\\SOFTWARE\\Policies\\ClaudeCode', keys: ['env.ANTHROPIC_BASE_URL'] },
      { tool: 'claude-desktop', source: 'HKLM\\SOFTWARE\\Policies\\Claude', keys: ['inferenceProvider'] },
    ]);
    expect(queried).toEqual([
      'HKLM\\SOFTWARE\\Policies\\ClaudeCode',
      'HKCU\\SOFTWARE\\Policies\\ClaudeCode',
      'HKLM\\SOFTWARE\\Policies\\Claude',
      'HKCU\\SOFTWARE\\Policies\\Claude',
    ]);
  });

  it('system paths are the real ones without GATEPASS_SYSTEM_ROOT', () => {
    const env = { platform: 'linux' as const, env: {} };
    expect(systemPath(env, '/etc/claude-code/managed-settings.json')).toBe(
      '/etc/claude-code/managed-settings.json',
    );
    expect(systemPath({ ...env, env: { GATEPASS_SYSTEM_ROOT: '/r' } }, 'C:\\Program Files\\X\\y.json')).toBe(
      '/r/Program Files/X/y.json',
    );
  });
});
