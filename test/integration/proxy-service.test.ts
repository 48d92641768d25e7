/**
 * `gatepass proxy install|uninstall`, `setup --proxy-service` and teardown, through the built CLI on
 * Linux: the systemd user unit's exact content and mode, and the exact `systemctl --user` commands
 * (a recording `systemctl` first on PATH stands for the user manager; the real one runs too, where a
 * user manager answers). Managed-settings warnings of setup and status, with GATEPASS_SYSTEM_ROOT.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const KEY = generateLocalProxyKey();
let t: TempHome;
let port = 0;
let bin = '';
let log = '';

/** A `systemctl` that records its arguments; `show-environment` exits `managerCode`. */
function fakeSystemctl(managerCode: number): void {
  writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$2" = show-environment ]; then exit ${managerCode}; fi\nexit 0\n`,
  );
  chmodSync(path.join(bin, 'systemctl'), 0o755);
}

function calls(): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

beforeEach(async () => {
  port = await freePort();
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
    GP_TEST_TOKEN: 'x',
  });
  bin = path.join(t.home, 'bin');
  log = path.join(t.home, 'systemctl.log');
  mkdirSync(bin);
  t.env['PATH'] = `${bin}:${t.env['PATH']}`;
  mkdirSync(path.dirname(t.configFile), { recursive: true });
  writeFileSync(
    t.configFile,
    `version: 1
default_provider: default
providers:
  default:
    type: command
    gateway_url: https://llm.example.com
    auth:
      env_var: GP_TEST_TOKEN
proxy:
  listen_port: ${port}
`,
  );
});
afterEach(() => t.cleanup());

const unitFile = () => path.join(t.home, '.config/systemd/user/gatepass-proxy.service');
const dataDir = () => path.join(t.home, '.local/share/gatepass');

function expectedUnit(): string {
  return `# Written by \`gatepass proxy install\` (removed by \`gatepass proxy uninstall\` and teardown).
[Unit]
Description=gatepass proxy (provider default): fresh gateway tokens for local AI tools

[Service]
Type=simple
ExecStart="${dataDir()}/bin/gatepass" "--config" "${t.configFile}" "--provider" "default" "proxy" "start"
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
`;
}

describe('gatepass proxy install / uninstall (systemd user unit)', () => {
  it('writes the unit (0644, no secret), enables and restarts it, checks it, and uninstall removes it', async () => {
    fakeSystemctl(0);
    const r = await runGatepass(['proxy', 'install'], { env: t.env });
    expect(r.stderr).toContain('Installed and started the gatepass proxy service');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(unitFile());
    const text = readFileSync(unitFile(), 'utf8');
    expect(text).toBe(expectedUnit());
    expect(text).not.toContain(KEY);
    expect(statSync(unitFile()).mode & 0o777).toBe(0o644);
    // The launcher the unit runs exists and starts this gatepass.
    expect(statSync(path.join(dataDir(), 'bin/gatepass')).mode & 0o111).not.toBe(0);
    expect(calls()).toEqual([
      '--user show-environment',
      '--user daemon-reload',
      '--user enable gatepass-proxy.service',
      '--user restart gatepass-proxy.service',
      '--user is-active gatepass-proxy.service',
    ]);

    writeFileSync(log, '');
    const u = await runGatepass(['proxy', 'uninstall'], { env: t.env });
    expect(u.code).toBe(0);
    expect(u.stderr).toContain(`Removed the gatepass proxy service (${unitFile()})`);
    expect(existsSync(unitFile())).toBe(false);
    expect(calls()).toEqual([
      '--user show-environment',
      '--user disable --now gatepass-proxy.service',
      '--user show-environment',
      '--user daemon-reload',
    ]);
    const again = await runGatepass(['proxy', 'uninstall'], { env: t.env });
    expect(again.stderr).toContain('No gatepass proxy service is installed');
  });

  it('without a user manager: writes the unit and says how to enable it, running nothing else', async () => {
    fakeSystemctl(1);
    const r = await runGatepass(['proxy', 'install'], { env: t.env });
    expect(r.code).toBe(0);
    expect(readFileSync(unitFile(), 'utf8')).toBe(expectedUnit());
    expect(r.stderr).toContain('no systemd user manager answers here');
    expect(r.stderr).toContain('systemctl --user enable gatepass-proxy.service');
    expect(calls()).toEqual(['--user show-environment']);
  });

  it('refuses an unknown provider and writes nothing', async () => {
    fakeSystemctl(0);
    const r = await runGatepass(['--provider', 'nope', 'proxy', 'install'], { env: t.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('nope');
    expect(existsSync(unitFile())).toBe(false);
    expect(calls()).toEqual([]);
  });

  it('a failing systemctl is an error naming the command', async () => {
    writeFileSync(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\nif [ "$2" = restart ]; then echo 'Unit failed' >&2; exit 5; fi\nexit 0\n`,
    );
    chmodSync(path.join(bin, 'systemctl'), 0o755);
    const r = await runGatepass(['proxy', 'install'], { env: t.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      '`systemctl --user restart gatepass-proxy.service` failed (exit 5): Unit failed',
    );
  });

  it('with the real systemctl: started and active where a user manager answers, else only written', async () => {
    let manager = false;
    try {
      execFileSync('systemctl', ['--user', 'show-environment'], { stdio: 'ignore' });
      manager = true;
    } catch {
      // no systemd user manager in this environment (containers, CI)
    }
    const env = { ...t.env, PATH: t.env['PATH']!.split(':').slice(1).join(':') };
    const r = await runGatepass(['proxy', 'install'], { env });
    expect(r.code).toBe(0);
    expect(readFileSync(unitFile(), 'utf8')).toBe(expectedUnit());
    if (manager) expect(r.stderr).toContain('Installed and started');
    else expect(r.stderr).toContain('no systemd user manager answers here');
    const u = await runGatepass(['proxy', 'uninstall'], { env });
    expect(u.code).toBe(0);
    expect(existsSync(unitFile())).toBe(false);
  });
});

describe('setup --proxy-service and teardown', () => {
  it('installs the service when a proxy-mode tool is wired, records it, and teardown removes it', async () => {
    fakeSystemctl(0);
    mkdirSync(path.join(t.home, '.gemini'));
    const plain = await runGatepass(['setup', '--tools', 'gemini', '--lazy'], { env: t.env });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('gatepass setup --proxy-service');
    expect(existsSync(unitFile())).toBe(false);

    const r = await runGatepass(['setup', '--tools', 'gemini', '--lazy', '--proxy-service'], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Installed and started the gatepass proxy service: ${unitFile()}`);
    expect(readFileSync(unitFile(), 'utf8')).toBe(expectedUnit());
    const record = JSON.parse(
      readFileSync(path.join(t.home, '.local/share/gatepass/proxy-service.json'), 'utf8'),
    ) as { installed_by: string; file: string };
    expect(record).toMatchObject({ installed_by: 'setup', file: unitFile() });

    const st = await runGatepass(['status'], { env: t.env });
    expect(st.stdout).toContain(`Proxy service: ${unitFile()} (provider "default")`);
    const stJson = await runGatepass(['status', '--json'], { env: t.env });
    expect(JSON.parse(stJson.stdout).proxy_service).toEqual({ file: unitFile(), provider: 'default' });
    const preview = await runGatepass(['teardown', '--dry-run'], { env: t.env });
    expect(preview.stderr).toContain(`remove the proxy service (${unitFile()})`);
    expect(existsSync(unitFile())).toBe(true);

    writeFileSync(log, '');
    const td = await runGatepass(['teardown'], { env: t.env });
    expect(td.code).toBe(0);
    expect(td.stderr).toContain('Removed the gatepass proxy service');
    expect(existsSync(unitFile())).toBe(false);
    expect(calls()).toContain('--user disable --now gatepass-proxy.service');
  });

  it('--proxy-service with --dry-run writes nothing', async () => {
    fakeSystemctl(0);
    mkdirSync(path.join(t.home, '.gemini'));
    const r = await runGatepass(['setup', '--tools', 'gemini', '--dry-run', '--proxy-service'], {
      env: t.env,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`--proxy-service would install ${unitFile()}`);
    expect(existsSync(unitFile())).toBe(false);
    expect(calls()).toEqual([]);
  });
});

describe('managed settings overriding the wiring', () => {
  it('setup and status warn about Claude Code managed-settings.json and Codex managed_config.toml', async () => {
    const root = path.join(t.home, 'sysroot');
    mkdirSync(path.join(root, 'etc/claude-code/managed-settings.d'), { recursive: true });
    mkdirSync(path.join(root, 'etc/codex'), { recursive: true });
    writeFileSync(
      path.join(root, 'etc/claude-code/managed-settings.json'),
      JSON.stringify({ apiKeyHelper: '/opt/corp/key', env: { ANTHROPIC_BASE_URL: 'https://corp' } }),
    );
    writeFileSync(
      path.join(root, 'etc/claude-code/managed-settings.d/10-corp.json'),
      JSON.stringify({ env: { ANTHROPIC_API_KEY: 'sk-x' }, permissions: {} }),
    );
    writeFileSync(path.join(root, 'etc/codex/managed_config.toml'), 'model_provider = "corp"\n');
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.codex'));
    const env = { ...t.env, GATEPASS_SYSTEM_ROOT: root };
    const r = await runGatepass(['setup', '--tools', 'claude,codex', '--lazy'], { env });
    expect(r.code).toBe(0);
    const claudeFile = path.join(root, 'etc/claude-code/managed-settings.json');
    expect(r.stderr).toContain(`Claude Code: ${claudeFile} sets apiKeyHelper, env.ANTHROPIC_BASE_URL:`);
    expect(r.stderr).toContain(
      `Claude Code: ${path.join(root, 'etc/claude-code/managed-settings.d/10-corp.json')} sets env.ANTHROPIC_API_KEY:`,
    );
    expect(r.stderr).toContain(`${path.join(root, 'etc/codex/managed_config.toml')} sets model_provider:`);

    const s = await runGatepass(['status'], { env });
    expect(s.stderr).toContain(`Claude Code: ${claudeFile} sets apiKeyHelper, env.ANTHROPIC_BASE_URL:`);
    // --json carries them too (stdout stays one JSON document), and no service is installed.
    const sj = await runGatepass(['status', '--json'], { env });
    const report = JSON.parse(sj.stdout) as { managed_conflicts: unknown[]; proxy_service: unknown };
    expect(report.proxy_service).toBeNull();
    expect(report.managed_conflicts).toContainEqual({
      tool: 'claude',
      source: claudeFile,
      keys: ['apiKeyHelper', 'env.ANTHROPIC_BASE_URL'],
    });
    expect(report.managed_conflicts).toContainEqual({
      tool: 'codex',
      source: path.join(root, 'etc/codex/managed_config.toml'),
      keys: ['model_provider'],
    });

    // Without those files (the real system root here has none of them, or other keys): no warning.
    const clean = await runGatepass(['setup', '--tools', 'claude,codex', '--lazy'], {
      env: { ...t.env, GATEPASS_SYSTEM_ROOT: path.join(t.home, 'empty') },
    });
    expect(clean.code).toBe(0);
    expect(clean.stderr).not.toContain('managed settings win');
  });
});
