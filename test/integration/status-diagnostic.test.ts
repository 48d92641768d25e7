/**
 * `gatepass status` as a diagnostic, through the built CLI in a temp HOME: "Everything is ok." and
 * exit 0 only when it is; a drifted tool names the key that changed and the command that rewires
 * it; a hand-edited invalid config is reported, not called fine; a logged-out command provider is
 * not logged in (and its token_command does not run on a tool's behalf until `gatepass login`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

let t: TempHome;
beforeEach(async () => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', PATH: '/usr/bin:/bin' });
  mkdirSync(path.join(t.home, '.claude'));
  const set = await gp([
    'config',
    'set',
    '--type',
    'command',
    '--gateway-url',
    'http://127.0.0.1:9',
    '--token-command',
    'echo corp-token',
  ]);
  expect(set.code, set.stderr).toBe(0);
  const setup = await gp(['setup', '--tools', 'claude']);
  expect(setup.code, setup.stderr).toBe(0);
});
afterEach(() => t.cleanup());

function gp(args: string[]) {
  return runGatepass(args, { env: t.env, cwd: t.home });
}
const settings = () => path.join(t.home, '.claude/settings.json');

it('a drifted tool: which key changed and how to fix it; exit 1 until fixed', async () => {
  const ok = await gp(['status']);
  expect(ok.code, ok.stdout).toBe(0);
  expect(ok.stdout).toContain('Everything is ok.');

  const s = JSON.parse(readFileSync(settings(), 'utf8'));
  s.apiKeyHelper = 'my-own-helper';
  writeFileSync(settings(), JSON.stringify(s, null, 2));
  const drifted = await gp(['status', '--json']);
  expect(drifted.code).toBe(1);
  const tool = JSON.parse(drifted.stdout).tools[0];
  expect(tool.state).toBe('drifted');
  expect(tool.reason).toBe(`changed since setup: apiKeyHelper in ${settings()}`);
  expect(tool.fix).toContain('`gatepass setup --tools claude`');
  const text = await gp(['status']);
  expect(text.stdout).toContain(`drifted: changed since setup: apiKeyHelper in ${settings()}`);
  expect(text.stdout).toContain('fix: run `gatepass setup --tools claude`');

  expect((await gp(['setup', '--tools', 'claude'])).code).toBe(0);
  expect((await gp(['status'])).code).toBe(0);
});

it('a hand-edited invalid config is reported, not called ok', async () => {
  const file = t.configFile;
  writeFileSync(file, readFileSync(file, 'utf8').replace('http://127.0.0.1:9', 'ftp://llm.example.com'));
  const r = await gp(['status', '--json']);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout);
  expect(report.config_valid).toBe(false);
  expect(report.config_error).toMatch(/gateway_url/);
  expect(report.providers[0].configured).toBe(false);
  const text = await gp(['status']);
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/Config: .* — INVALID: .*gateway_url/);
  expect(text.stdout).not.toContain('Everything is ok.');
});

it('a logged-out command provider is not logged in, and its token command waits for gatepass login', async () => {
  expect((await gp(['token'])).stdout).toBe('corp-token\n');
  expect((await gp(['logout'])).code).toBe(0);
  const st = await gp(['status', '--json']);
  expect(st.code).toBe(1);
  expect(JSON.parse(st.stdout).providers[0]).toMatchObject({ logged_in: false, logged_out: true });
  const tok = await gp(['token']);
  expect(tok.code).toBe(1);
  expect(tok.stdout).toBe('');
  expect(tok.stderr).toContain('you are logged out: run `gatepass login`');
  expect((await gp(['login'])).code).toBe(0);
  expect((await gp(['token'])).stdout).toBe('corp-token\n');
  expect((await gp(['status'])).code).toBe(0);
});
