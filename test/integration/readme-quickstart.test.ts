/**
 * The README's quick start, run as written: its first line installs, builds and runs gatepass (setup
 * + status), its second runs the tests. `npm ci` and `npm run build` are what the test run itself
 * already did (global setup builds dist/); every `node dist/cli.js …` part is run as written (its
 * example hosts moved to .invalid) in a fresh HOME, with the AI tools from node_modules/.bin
 * installed: against a gateway that does not exist, setup must neither hang nor fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, ROOT, runNode, type TempHome } from '../helpers/cli.js';

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
  it('is two commands: install-build-run, then the test command that .ci/run runs', () => {
    const lines = quickStartLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^npm ci && npm run build && node dist\/cli\.js /);
    expect(lines[1]).toBe('npm test');
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).toMatch(/^set -euo pipefail$/m);
  });

  it('its first command wires the installed tools to a gateway that does not exist, then shows status', async () => {
    const steps = quickStartLines()[0]!.split(' && ');
    expect(steps.slice(0, 2)).toEqual(['npm ci', 'npm run build']);
    const env = {
      ...t.env,
      PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${t.env['PATH']}`,
    };
    const results = [];
    for (const readmeStep of steps.slice(2)) {
      // The README's example hosts, moved to .invalid (RFC 6761: never resolves), so the layout
      // probe cannot reach a real server whatever example.com's DNS says; setup must cope.
      const step = readmeStep.replaceAll('.example.com', '.example.invalid');
      if (step.includes(' setup ')) expect(step).toMatch(/--gateway-url https:\/\/\S+\.example\.invalid /);
      // The same bound as a user's patience: setup probes the gateway for at most 2 s per request.
      const r = await runNode(nodeArgs(step), { env, cwd: ROOT, timeoutMs: 45_000 });
      expect(r.signal, `${step} hung`).toBeNull();
      // status is a diagnostic: after a lazy setup nobody signed in yet, which it reports (exit 1).
      expect(r.code, `${step}\n${r.stderr}`).toBe(step.endsWith(' status') ? 1 : 0);
      expect(r.stderr).not.toMatch(/internal error/);
      results.push(r);
    }
    const [setup, status] = results;
    expect(setup!.stdout).toMatch(/Lazy mode: skipping OIDC login/);
    for (const tool of ['Claude Code', 'Codex CLI', 'Gemini CLI']) {
      expect(setup!.stderr).toContain(`Configured ${tool}`);
      expect(status!.stdout).toMatch(new RegExp(`Tool ${tool} \\(\\w+\\): wired`));
    }
    expect(status!.stdout).toMatch(
      /Provider default \(default\): oidc, https:\/\/llm\.example\.invalid, not logged in \(login pending/,
    );
    // The tools were really edited, and the config records them.
    expect(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8')).toContain('apiKeyHelper');
    expect(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8')).toContain(
      '[model_providers.gatepass]',
    );
    expect(readFileSync(t.configFile, 'utf8')).toContain('configured_tools:');
  });
});
