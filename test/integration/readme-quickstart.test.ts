/**
 * The README's quick start, run as written: its first line installs, builds and runs setup as a dry
 * run with placeholder hosts (changing nothing, then naming the real command), its second runs the
 * tests. `npm ci` and `npm run build` are what the test run itself already did (global setup builds
 * dist/); every `node dist/cli.js …` part is run as written (example hosts moved to .invalid) in a
 * fresh HOME, with the AI tools from node_modules/.bin installed: against a gateway that does not
 * exist, setup must neither hang nor fail. The real command it then shows is run with .test hosts.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, ROOT, runNode, type TempHome } from '../helpers/cli.js';
import { filesOf, snapshotTree } from '../helpers/tree.js';

/** The shell lines of the first ```sh block under "## Quick start". */
function quickStartLines(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Quick start$/m)[1]?.split(/^## /m)[0];
  const block = section?.match(/```sh\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
}

/** `node dist/cli.js a b c` → ['dist/cli.js', 'a', 'b', 'c'] (the README's commands need no quoting). */
function nodeArgs(command: string): string[] {
  expect(command).not.toMatch(/["'\\$`|;<>]/);
  const words = command.trim().split(/\s+/);
  expect(words[0]).toBe('node');
  return words.slice(1);
}

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

describe('README quick start', () => {
  it('is two commands: install-build-dry-run, then the test command that .ci/run runs', () => {
    const lines = quickStartLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^npm ci && npm run build && node dist\/cli\.js setup --dry-run /);
    expect(lines[1]).toBe('npm test');
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).toMatch(/^set -euo pipefail$/m);
    // The test command itself installs what the end-to-end tests need (not only .ci/run).
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toMatch(/^bash scripts\/test-deps\.sh && /);
  });

  it('its first command runs the whole setup as a dry run with the placeholders, changing nothing', async () => {
    const steps = quickStartLines()[0]!.split(' && ');
    expect(steps.slice(0, 2)).toEqual(['npm ci', 'npm run build']);
    // As a user runs it: placeholder hosts are not allowed.
    const env: NodeJS.ProcessEnv = {
      ...t.env,
      PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${t.env['PATH']}`,
    };
    delete env['GATEPASS_ALLOW_PLACEHOLDER_HOSTS'];
    // The AI tools' own directories exist, so setup finds them (as on a machine that uses them).
    for (const d of ['.claude', '.codex', '.gemini']) mkdirSync(path.join(t.home, d));
    const before = snapshotTree(t.home);
    const [readmeStep, ...rest] = steps.slice(2);
    expect(rest).toEqual([]);
    // The README's example hosts, moved to .invalid (RFC 6761: never resolves), so the layout
    // probe cannot reach a real server whatever example.com's DNS says; setup must cope.
    const step = readmeStep!.replaceAll('.example.com', '.example.invalid');
    expect(step).toMatch(/--gateway-url https:\/\/\S+\.example\.invalid /);
    const r = await runNode(nodeArgs(step), { env, cwd: ROOT, timeoutMs: 45_000 });
    expect(r.signal, `${step} hung`).toBeNull();
    expect(r.code, `${step}\n${r.stderr}`).toBe(0);
    expect(r.stderr).not.toMatch(/internal error/);
    // The whole pipeline: a diff per tool file, then the real command to run.
    for (const f of ['.claude/settings.json', '.codex/config.toml', '.gemini/.env']) {
      expect(r.stdout).toContain(`+++ ${path.join(t.home, f)}`);
    }
    expect(r.stderr).toContain('Dry run: nothing was changed.');
    expect(r.stderr).toMatch(
      /(is a placeholder|are placeholders): to wire your tools, run setup again with your own values/,
    );
    expect(snapshotTree(t.home)).toEqual(before);

    // The same command without --dry-run is refused (usage error), still changing nothing.
    const real = await runNode(nodeArgs(step.replace(' --dry-run', '')), {
      env,
      cwd: ROOT,
      timeoutMs: 45_000,
    });
    expect(real.code, real.stderr).toBe(2);
    expect(real.stderr).toMatch(
      /gateway_url https:\/\/llm\.example\.invalid and oidc\.issuer \S+ are placeholders/,
    );
    expect(real.stderr).toMatch(/put in your own values/);
    expect(filesOf(snapshotTree(t.home))).toEqual(filesOf(before));
  });

  it('the real command it then shows wires the tools (own hosts) and status shows them', async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split(/^## Quick start$/m)[1]!.split(/^## /m)[0]!;
    const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)][1]?.[1]?.trim();
    expect(block).toMatch(/^node dist\/cli\.js setup --gateway-url https:\/\/llm\.yourcompany\.com /);
    const env: NodeJS.ProcessEnv = {
      ...t.env,
      PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${t.env['PATH']}`,
    };
    delete env['GATEPASS_ALLOW_PLACEHOLDER_HOSTS'];
    const results = [];
    // "yourcompany.com" stands for the user's own domain: here a .test one that never resolves.
    for (const step of block!.replaceAll('yourcompany.com', 'gatepass.test').split(' && ')) {
      const r = await runNode(nodeArgs(step), { env, cwd: ROOT, timeoutMs: 45_000 });
      expect(r.signal, `${step} hung`).toBeNull();
      // status is a diagnostic: after a lazy setup nobody signed in yet, which it reports (exit 1).
      expect(r.code, `${step}\n${r.stderr}`).toBe(step.endsWith(' status') ? 1 : 0);
      expect(r.stderr).not.toMatch(/internal error/);
      results.push(r);
    }
    const [setup, status] = results;
    expect(setup!.stderr).toMatch(/Lazy mode: skipping OIDC login/);
    for (const tool of ['Claude Code', 'Codex CLI', 'Gemini CLI']) {
      expect(setup!.stderr).toContain(`Configured ${tool}`);
      expect(status!.stdout).toMatch(new RegExp(`Tool ${tool} \\(\\w+\\): wired`));
    }
    // Unreachable gateway and IdP: said on stderr, not silently assumed.
    expect(setup!.stderr).toMatch(/warning: could not reach the gateway/);
    expect(setup!.stderr).toMatch(/warning: could not reach the identity provider/);
    expect(status!.stdout).toMatch(
      /Provider default \(default\): oidc, https:\/\/llm\.gatepass\.test, not logged in \(login pending/,
    );
    // The tools were really edited, and the config records them.
    expect(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8')).toContain('apiKeyHelper');
    expect(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8')).toContain(
      '[model_providers.gatepass]',
    );
  });
});
