/**
 * Symlinked tool files (dotfiles kept in a repository) stay symlinks: setup writes through a
 * dangling link (creating its target, and its directory) and teardown removes what it created but
 * keeps the link; a link to an existing file gets the target edited atomically — the temp file next
 * to the target, not next to the link — and both the link and the target's bytes come back.
 */
import {
  existsSync,
  promises as fsp,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../../src/secrets/memory.js';
import { LOCAL_PROXY_KEY_NAME, type SecretStore } from '../../src/secrets/types.js';
import type { Prober } from '../../src/setup/probe.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { runTeardown } from '../../src/setup/teardown.js';
import { makeTempHome, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, setupRunEnv } from '../helpers/setup-env.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];

const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };
const noPrefix: Prober = async () => 404;
const runEnv = () => setupRunEnv({ t, store, out, warnings });
const setup = (tools: string[], extra: Partial<SetupOptions> = {}) =>
  runSetup(runEnv(), { assignments: BASE_FLAGS, tools, self: SELF, probe: noPrefix, lazy: true, ...extra });
const teardown = () => runTeardown(runEnv(), { keepTokens: true });
const home = (rel: string) => path.join(t.home, rel);

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
});
afterEach(() => {
  vi.restoreAllMocks();
  t.cleanup();
});

describe('a dangling symlink', () => {
  it('setup creates its target through it; teardown removes the target and keeps the link', async () => {
    mkdirSync(home('dotfiles'));
    mkdirSync(home('.gemini'));
    // A relative link, as dotfile managers make them, to a file (and a directory) not there yet.
    symlinkSync('../dotfiles/gemini/env', home('.gemini/.env'));
    await setup(['gemini']);
    expect(lstatSync(home('.gemini/.env')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(home('.gemini/.env'))).toBe('../dotfiles/gemini/env');
    const key = await store.get(LOCAL_PROXY_KEY_NAME);
    expect(readFileSync(home('dotfiles/gemini/env'), 'utf8')).toContain(`GEMINI_API_KEY=${key}`);
    expect(lstatSync(home('dotfiles/gemini/env')).mode & 0o777).toBe(0o600);

    const r = await teardown();
    expect(r.tools[0]?.files.find((f) => f.file === home('.gemini/.env'))?.outcome).toBe('removed');
    expect(lstatSync(home('.gemini/.env')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(home('.gemini/.env'))).toBe('../dotfiles/gemini/env');
    expect(existsSync(home('dotfiles/gemini'))).toBe(false);
    expect(existsSync(home('dotfiles'))).toBe(true);
  });
});

describe('a symlink to an existing file', () => {
  it('setup edits the target atomically (temp file next to the target); teardown restores its bytes; the link stays', async () => {
    const text = '{\n  // mine\n  "model": "opus"\n}\n';
    mkdirSync(home('dotfiles'));
    mkdirSync(home('.claude'));
    writeFileSync(home('dotfiles/claude.json'), text);
    symlinkSync(home('dotfiles/claude.json'), home('.claude/settings.json'));
    // Watch where the atomic writes create their temp files (the real fs does the work).
    const temps: string[] = [];
    const open = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation(((file: string, ...rest: unknown[]) => {
      if (String(file).endsWith('.tmp')) temps.push(String(file));
      return (open as (...a: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
    }) as typeof fsp.open);

    await setup(['claude']);
    const claudeTemps = temps.filter((f) => f.includes('claude') || f.includes('settings.json'));
    expect(claudeTemps.length).toBeGreaterThan(0);
    for (const f of claudeTemps) expect(path.dirname(f)).toBe(home('dotfiles'));
    expect(lstatSync(home('.claude/settings.json')).isSymbolicLink()).toBe(true);
    expect(
      JSON.parse(readFileSync(home('dotfiles/claude.json'), 'utf8').replace('// mine', '')),
    ).toHaveProperty('apiKeyHelper');

    temps.length = 0;
    await teardown();
    for (const f of temps.filter((x) => x.includes('claude'))) expect(path.dirname(f)).toBe(home('dotfiles'));
    expect(lstatSync(home('.claude/settings.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(home('dotfiles/claude.json'), 'utf8')).toBe(text);
  });
});
