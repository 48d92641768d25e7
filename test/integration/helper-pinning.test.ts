/**
 * The token helpers setup writes carry the `--config` and `--provider` setup ran with, and start
 * gatepass through a launcher that every setup rewrites: with `gatepass --config alt.yaml
 * --provider work setup`, the helpers written into Claude Code, Codex and Claude Desktop print
 * work's token (not default's); when the gatepass they point at disappears (a Node upgrade, a moved
 * clone), `status` runs them, says "broken" with the reason and exits 1; setup again repairs them.
 * Real built CLI (a copy of it for the install that goes away), temp HOME.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CLI, makeTempHome, ROOT, runGatepass, runNode, runProcess, type TempHome } from '../helpers/cli.js';

let t: TempHome;
let alt: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', PATH: '/usr/bin:/bin' });
  env = t.env;
  alt = path.join(t.home, 'work', 'alt.yaml');
  for (const d of ['.claude', '.codex', '.gemini', '.config/Claude-3p'])
    mkdirSync(path.join(t.home, d), { recursive: true });
});
afterEach(() => t.cleanup());

const gp = (args: string[]) => runGatepass(args, { env, cwd: t.home });

/** A copy of the built CLI somewhere that can disappear (as a clone moved away, or an old Node). */
function installCopy(): string {
  const app = path.join(t.home, 'old-install');
  cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
  writeFileSync(path.join(app, 'package.json'), readFileSync(path.join(ROOT, 'package.json')));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
  return app;
}

async function configure(): Promise<void> {
  for (const name of ['default', 'work']) {
    const r = await gp([
      '--config',
      alt,
      'config',
      'set',
      '--provider',
      name,
      '--type',
      'command',
      '--gateway-url',
      `http://127.0.0.1:9/${name}`,
      '--token-command',
      `echo token-of-${name}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
}

/** Run every helper the tools were given, as each tool runs it; returns their stdout. */
async function runHelpers(): Promise<string[]> {
  const claude = JSON.parse(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8'));
  const codex = TOML.parse(readFileSync(path.join(t.home, '.codex/config.toml'), 'utf8')) as {
    model_providers: { gatepass: { auth: { command: string; args: string[] } } };
  };
  const lib = path.join(t.home, '.config/Claude-3p/configLibrary');
  const meta = JSON.parse(readFileSync(path.join(lib, '_meta.json'), 'utf8'));
  const doc = JSON.parse(readFileSync(path.join(lib, `${meta.appliedId}.json`), 'utf8'));
  const { auth } = codex.model_providers.gatepass;
  const runs = [
    runProcess('/bin/sh', ['-c', claude.apiKeyHelper], { env, cwd: t.home }),
    runProcess(auth.command, auth.args, { env, cwd: t.home }),
    runProcess(doc.inferenceCredentialHelper, [], { env, cwd: t.home }),
  ];
  return (await Promise.all(runs)).map((r) => (r.code === 0 ? r.stdout : `exit ${r.code}: ${r.stderr}`));
}

it('helpers and hints carry --config and --provider; status finds a broken launcher; setup repairs it', async () => {
  await configure();
  const app = installCopy();
  const setup = await runNode(
    [
      path.join(app, 'dist/cli.js'),
      '--config',
      alt,
      '--provider',
      'work',
      'setup',
      '--tools',
      'claude,codex,claude-desktop,gemini',
      '--lazy',
    ],
    { env, cwd: t.home },
  );
  expect(setup.code, setup.stderr).toBe(0);
  // The hint names the config and provider the proxy must serve.
  expect(setup.stderr).toContain(`\`gatepass --config ${alt} --provider work proxy start\``);

  expect(await runHelpers()).toEqual(['token-of-work\n', 'token-of-work\n', 'token-of-work\n']);

  const ok = await gp(['--config', alt, 'status', '--json']);
  expect(ok.code, ok.stdout).toBe(0);
  // Checking the helpers printed no token.
  expect(ok.stdout).not.toContain('token-of-');
  const report = JSON.parse(ok.stdout);
  expect(
    report.tools.map((x: { tool: string; state: string; provider: string }) => [x.tool, x.state, x.provider]),
  ).toEqual([
    ['claude', 'wired', 'work'],
    ['codex', 'wired', 'work'],
    ['claude-desktop', 'wired', 'work'],
    ['gemini', 'wired', 'work'],
  ]);

  // The install setup ran from goes away: every token helper is broken, and status says why.
  rmSync(app, { recursive: true, force: true });
  const broken = await gp(['--config', alt, 'status', '--json']);
  expect(broken.code).toBe(1);
  const br = JSON.parse(broken.stdout);
  for (const id of ['claude', 'codex', 'claude-desktop']) {
    const tool = br.tools.find((x: { tool: string }) => x.tool === id);
    expect(tool.state).toBe('broken');
    expect(tool.reason).toMatch(/token helper does not start: .*old-install.* no longer exists/);
    expect(tool.fix).toContain('setup --tools');
  }
  expect(br.tools.find((x: { tool: string }) => x.tool === 'gemini').state).toBe('wired');
  const text = await gp(['--config', alt, 'status']);
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/Tool Claude Code \(direct\): broken — .* \(provider work\)/);
  expect(text.stdout).toMatch(/broken: its token helper does not start/);

  // Setup again, from the gatepass that is here now: the launcher points at it, the tools' files
  // are not even touched, and every helper works again.
  const files = ['.claude/settings.json', '.codex/config.toml'].map((f) =>
    readFileSync(path.join(t.home, f), 'utf8'),
  );
  const again = await runNode(
    [
      CLI,
      '--config',
      alt,
      '--provider',
      'work',
      'setup',
      '--tools',
      'claude,codex,claude-desktop,gemini',
      '--lazy',
    ],
    {
      env,
      cwd: t.home,
    },
  );
  expect(again.code, again.stderr).toBe(0);
  expect(
    ['.claude/settings.json', '.codex/config.toml'].map((f) => readFileSync(path.join(t.home, f), 'utf8')),
  ).toEqual(files);
  expect(await runHelpers()).toEqual(['token-of-work\n', 'token-of-work\n', 'token-of-work\n']);
  const fixed = await gp(['--config', alt, 'status']);
  expect(fixed.code, fixed.stdout).toBe(0);
  expect(fixed.stdout).toContain('Everything is ok.');
});

it('status reports a helper pinned to a provider that no longer exists as broken', async () => {
  await configure();
  const setup = await gp(['--config', alt, '--provider', 'work', 'setup', '--tools', 'claude', '--lazy']);
  expect(setup.code, setup.stderr).toBe(0);
  const rm = await gp(['--config', alt, 'config', 'unset', '--provider', 'work', '--all']);
  expect(rm.code, rm.stderr).toBe(0);
  const st = await gp(['--config', alt, 'status', '--json']);
  expect(st.code).toBe(1);
  const tool = JSON.parse(st.stdout).tools[0];
  expect(tool.state).toBe('broken');
  expect(tool.reason).toMatch(/no provider named "work"/);
});
