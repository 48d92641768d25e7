/**
 * Managed (administrator) tool settings that win over the per-user files gatepass wires, so a
 * wired tool would silently not use gatepass. Read-only; setup and status turn what this finds into
 * warnings. What is checked (paths as the tools themselves read them):
 *   - Claude Code 2.x: `managed-settings.json` and `managed-settings.d/*.json` in
 *     `/etc/claude-code` (Linux), `/Library/Application Support/ClaudeCode` (macOS),
 *     `C:\Program Files\ClaudeCode` (Windows), and on Windows the `Settings` value (JSON) of
 *     HKLM/HKCU `SOFTWARE\Policies\ClaudeCode` — for the keys gatepass sets (apiKeyHelper,
 *     env.ANTHROPIC_BASE_URL…) and the ones that bypass them (env.ANTHROPIC_API_KEY…).
 *   - Claude Desktop: its MDM profile, `/Library/Managed Preferences[/<user>]/
 *     com.anthropic.claudefordesktop.plist` (macOS) or HKLM/HKCU `SOFTWARE\Policies\Claude`
 *     (Windows). Any managed `inference*` key means the app ignores its local configLibrary.
 *   - Codex: `/etc/codex/managed_config.toml` (Linux, macOS) and, on macOS, the MDM
 *     `config_toml_base64` of `/Library/Managed Preferences/com.openai.codex.plist`, for
 *     `model_provider` and `model_providers.gatepass`.
 * GATEPASS_SYSTEM_ROOT (tests only) re-roots every system path, e.g. `C:\Program Files\X` becomes
 * `<root>/Program Files/X`.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CODEX_PROVIDER_ID } from './codex.js';

export const SYSTEM_ROOT_ENV = 'GATEPASS_SYSTEM_ROOT';

export interface ManagedConflict {
  /** Tool id (claude, claude-desktop, codex). */
  tool: string;
  /** The managed file or registry key. */
  source: string;
  /** The keys it sets that override gatepass' wiring. */
  keys: string[];
}

export interface ConflictEnv {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** `reg query <key>` output, or undefined when the key does not exist (Windows; injected in tests). */
  regQuery?: (key: string) => Promise<string | undefined>;
}

/** Claude Code settings that gatepass wires, or that take precedence over its token helper. */
const CLAUDE_KEYS = [
  'apiKeyHelper',
  'env.ANTHROPIC_BASE_URL',
  'env.ANTHROPIC_API_KEY',
  'env.ANTHROPIC_AUTH_TOKEN',
  'env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS',
  'env.CLAUDE_CODE_USE_BEDROCK',
  'env.CLAUDE_CODE_USE_VERTEX',
];
const CODEX_KEYS = ['model_provider', `model_providers.${CODEX_PROVIDER_ID}`];
const DESKTOP_DOMAIN = 'com.anthropic.claudefordesktop';
const CODEX_DOMAIN = 'com.openai.codex';

/** A system path, re-rooted under GATEPASS_SYSTEM_ROOT when set. */
export function systemPath(env: ConflictEnv, abs: string): string {
  const root = env.env[SYSTEM_ROOT_ENV];
  if (!root) return abs;
  const rel = abs
    .replace(/^[A-Za-z]:[\\/]/, '')
    .replace(/\\/g, '/')
    .replace(/^\/+/, '');
  return path.join(root, ...rel.split('/'));
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(file);
  } catch {
    return undefined;
  }
}

function get(obj: unknown, dotted: string): unknown {
  let cur = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function keysSet(doc: unknown, keys: string[]): string[] {
  return keys.filter((k) => get(doc, k) !== undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function claudeDir(env: ConflictEnv): string {
  if (env.platform === 'darwin') return '/Library/Application Support/ClaudeCode';
  if (env.platform === 'win32') return 'C:\\Program Files\\ClaudeCode';
  return '/etc/claude-code';
}

function joinFor(env: ConflictEnv, dir: string, name: string): string {
  return env.platform === 'win32' && !env.env[SYSTEM_ROOT_ENV]
    ? path.win32.join(dir, name)
    : path.posix.join(dir, name);
}

async function claudeCode(env: ConflictEnv): Promise<ManagedConflict[]> {
  const out: ManagedConflict[] = [];
  const dir = claudeDir(env);
  const files = [joinFor(env, dir, 'managed-settings.json')];
  const dropIns = systemPath(env, joinFor(env, dir, 'managed-settings.d'));
  const names = await fsp.readdir(dropIns).catch(() => [] as string[]);
  for (const n of names.filter((n) => n.endsWith('.json')).sort())
    files.push(joinFor(env, joinFor(env, dir, 'managed-settings.d'), n));
  for (const file of files) {
    const source = systemPath(env, file);
    const buf = await readIfExists(source);
    if (!buf) continue;
    const keys = keysSet(parseJson(buf.toString('utf8')), CLAUDE_KEYS);
    if (keys.length) out.push({ tool: 'claude', source, keys });
  }
  if (env.platform === 'win32') {
    for (const hive of ['HKLM', 'HKCU']) {
      const key = `${hive}\\SOFTWARE\\Policies\\ClaudeCode`;
      const text = await regQuery(env, key);
      const m = text && /^\s*Settings\s+REG_(?:EXPAND_)?SZ\s+(.*)$/m.exec(text);
      const keys = m ? keysSet(parseJson(m[1]!.trim()), CLAUDE_KEYS) : [];
      if (keys.length) out.push({ tool: 'claude', source: key, keys });
    }
  }
  return out;
}

/** The names of `inference*` keys in a plist (XML or binary: keys are stored as ASCII strings). */
function plistInferenceKeys(buf: Buffer): string[] {
  const text = buf.toString('latin1');
  const found = text.startsWith('bplist')
    ? [...text.matchAll(/inference[A-Za-z]+/g)].map((m) => m[0])
    : [...text.matchAll(/<key>\s*(inference[A-Za-z]+)\s*<\/key>/g)].map((m) => m[1]!);
  return [...new Set(found)].sort();
}

async function claudeDesktop(env: ConflictEnv): Promise<ManagedConflict[]> {
  const out: ManagedConflict[] = [];
  if (env.platform === 'darwin') {
    const user = env.env['USER'] || env.env['LOGNAME'];
    const dirs = ['/Library/Managed Preferences', ...(user ? [`/Library/Managed Preferences/${user}`] : [])];
    for (const dir of dirs) {
      const source = systemPath(env, `${dir}/${DESKTOP_DOMAIN}.plist`);
      const buf = await readIfExists(source);
      const keys = buf ? plistInferenceKeys(buf) : [];
      if (keys.length) out.push({ tool: 'claude-desktop', source, keys });
    }
  } else if (env.platform === 'win32') {
    for (const hive of ['HKLM', 'HKCU']) {
      const key = `${hive}\\SOFTWARE\\Policies\\Claude`;
      const text = await regQuery(env, key);
      const keys = text
        ? [...new Set([...text.matchAll(/^\s*(inference[A-Za-z]+)\s+REG_/gm)].map((m) => m[1]!))].sort()
        : [];
      if (keys.length) out.push({ tool: 'claude-desktop', source: key, keys });
    }
  }
  return out;
}

async function codex(env: ConflictEnv): Promise<ManagedConflict[]> {
  if (env.platform === 'win32') return [];
  const { parse } = await import('@decimalturn/toml-patch');
  const tomlKeys = (text: string): string[] => {
    try {
      return keysSet(parse(text), CODEX_KEYS);
    } catch {
      return [];
    }
  };
  const out: ManagedConflict[] = [];
  const source = systemPath(env, '/etc/codex/managed_config.toml');
  const buf = await readIfExists(source);
  const keys = buf ? tomlKeys(buf.toString('utf8')) : [];
  if (keys.length) out.push({ tool: 'codex', source, keys });
  if (env.platform === 'darwin') {
    const plist = systemPath(env, `/Library/Managed Preferences/${CODEX_DOMAIN}.plist`);
    const text = (await readIfExists(plist))?.toString('utf8');
    const m = text && /<key>\s*config_toml_base64\s*<\/key>\s*<string>([^<]*)<\/string>/.exec(text);
    const mdmKeys = m ? tomlKeys(Buffer.from(m[1]!.trim(), 'base64').toString('utf8')) : [];
    if (mdmKeys.length) out.push({ tool: 'codex', source: `${plist} (config_toml_base64)`, keys: mdmKeys });
  }
  return out;
}

async function regQuery(env: ConflictEnv, key: string): Promise<string | undefined> {
  if (env.regQuery) return env.regQuery(key);
  if (process.platform !== 'win32') return undefined;
  return new Promise((resolve) => {
    execFile('reg', ['query', key], { timeout: 5_000, windowsHide: true }, (err, stdout) =>
      resolve(err ? undefined : String(stdout)),
    );
  });
}

/** Managed settings overriding gatepass' wiring of the given tools. Never throws. */
export async function findManagedConflicts(env: ConflictEnv, toolIds: string[]): Promise<ManagedConflict[]> {
  const checks: Record<string, (e: ConflictEnv) => Promise<ManagedConflict[]>> = {
    claude: claudeCode,
    'claude-desktop': claudeDesktop,
    codex,
  };
  const out: ManagedConflict[] = [];
  for (const id of new Set(toolIds)) {
    const check = checks[id];
    if (check) out.push(...(await check(env).catch(() => [])));
  }
  return out;
}

/** One warning line per conflict. */
export function conflictWarning(c: ManagedConflict, toolName: string): string {
  const what =
    c.tool === 'claude-desktop'
      ? 'a managed Claude Desktop configuration is present, so the app ignores the configLibrary gatepass wrote'
      : `these managed settings win over the per-user file gatepass wired`;
  return `${toolName}: ${c.source} sets ${c.keys.join(', ')}: ${what}; ask your administrator to remove them or to point them at gatepass`;
}
