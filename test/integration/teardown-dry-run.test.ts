/**
 * `gatepass teardown --dry-run` through the built CLI: a diff of what would be restored per file,
 * secrets masked, and the whole HOME tree unchanged (files, modes, the config, backups, tokens).
 * A real teardown's "Restart needed" list does not tell to run the proxy for tools it unwired.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { writeHomeFile } from '../helpers/setup-env.js';
import { snapshotTree } from '../helpers/tree.js';

const FLAGS = [
  '--gateway-url',
  'https://llm.gatepass.test',
  '--issuer',
  'https://sso.gatepass.test',
  '--client-id',
  'gp',
];

let t: TempHome;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  t = makeTempHome();
  env = { ...t.env, GATEPASS_SECRET_STORE: 'file' };
});
afterEach(() => t.cleanup());

describe('teardown --dry-run', () => {
  it('shows the diffs of what would be restored, masks secrets, and changes nothing', async () => {
    const codex = writeHomeFile(t, '.codex/config.toml', 'model = "gpt-5"  # c1\nmodel_provider = "corp"\n');
    const gemini = writeHomeFile(t, '.gemini/.env', 'GEMINI_API_KEY=user-own-secret-key\nOTHER=1\n');
    const setup = await runGatepass(['setup', '--tools', 'codex,gemini', '--lazy', ...FLAGS], { env });
    expect(setup.code, setup.stderr).toBe(0);
    const wiredGemini = readFileSync(gemini, 'utf8');
    const localKey = /GEMINI_API_KEY=(\S+)/.exec(wiredGemini)![1]!;
    const before = snapshotTree(t.home);

    const r = await runGatepass(['teardown', '--dry-run'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`--- ${codex}`);
    expect(r.stdout).toContain('-model_provider = "gatepass"');
    expect(r.stdout).toContain('+model_provider = "corp"');
    expect(r.stdout).toContain('-[model_providers.gatepass]');
    expect(r.stdout).toContain(`--- ${gemini}`);
    expect(r.stdout).toContain('+GEMINI_API_KEY=<redacted>');
    for (const secret of [localKey, 'user-own-secret-key']) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    expect(r.stderr).toMatch(
      /Dry run: nothing was changed\. Teardown would unconfigure Codex CLI, Gemini CLI and delete the cached tokens/,
    );
    expect(snapshotTree(t.home)).toEqual(before);

    // The real teardown then does what the dry run showed.
    const real = await runGatepass(['teardown'], { env });
    expect(real.code, real.stderr).toBe(0);
    expect(readFileSync(codex, 'utf8')).toBe('model = "gpt-5"  # c1\nmodel_provider = "corp"\n');
    expect(readFileSync(gemini, 'utf8')).toBe('GEMINI_API_KEY=user-own-secret-key\nOTHER=1\n');
    // Restart hints for unwired tools: no "with `gatepass proxy` running".
    expect(real.stderr).toMatch(/Restart needed:\n[\s\S]*Gemini CLI: start a new Gemini CLI session/);
    expect(real.stderr).not.toMatch(/gatepass proxy` running/);
  });

  it('with nothing configured, says so and changes nothing', async () => {
    const before = snapshotTree(t.home);
    const r = await runGatepass(['teardown', '--dry-run'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Dry run: nothing was changed\. Teardown would unconfigure no tools/);
    expect(snapshotTree(t.home)).toEqual(before);
    expect(
      (await runGatepass(['teardown', '--dry-run', '--purge-tokens', '--keep-tokens'], { env })).code,
    ).toBe(2);
  });
});
