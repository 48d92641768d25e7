/**
 * The per-user proxy service (`gatepass proxy install|uninstall`, `setup --proxy-service`): keeps
 * `gatepass proxy start` running across logins and reboots, so proxy-mode tools (Gemini CLI,
 * OpenCode, VS Code, Xcode) keep working. One service per user, started through the launcher in
 * gatepass' data dir (a Node upgrade needs only a `gatepass setup`), pinned to the config file and
 * provider it was installed for:
 *   - Linux: a systemd user unit `~/.config/systemd/user/gatepass-proxy.service` (0644), enabled and
 *     (re)started with `systemctl --user` when a user manager answers; else only written, with the
 *     commands that enable it.
 *   - macOS: a launchd agent `~/Library/LaunchAgents/dev.gatepass.proxy.plist` (0644), loaded with
 *     `launchctl bootstrap gui/<uid>`.
 *   - Windows: a Scheduled Task "gatepass-proxy" run at logon, registered from a task XML (UTF-16,
 *     0600, in the data dir) with `schtasks /Create /XML`.
 * No secret goes into these files: the proxy reads its keys from the secret store. What was installed
 * is recorded in `<state>/proxy-service.json`, so uninstall and teardown remove exactly that.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GatepassPaths } from '../config/paths.js';
import type { Logger } from '../log.js';
import { launcherPath } from '../tools/launcher.js';
import { readTextIfExists, removeFileDurable, writeFileAtomic } from '../util/fs.js';

export const SERVICE_NAME = 'gatepass-proxy';
export const SYSTEMD_UNIT = `${SERVICE_NAME}.service`;
export const LAUNCHD_LABEL = 'dev.gatepass.proxy';
/** Directory variables the service must see to find the same state as the user's shell. */
const PASSED_ENV = ['GATEPASS_STATE_DIR', 'GATEPASS_CACHE_DIR'];

export interface ServiceEnv {
  platform: NodeJS.Platform;
  home: string;
  env: NodeJS.ProcessEnv;
  paths: Pick<GatepassPaths, 'configFile' | 'dataDir' | 'stateDir'>;
  /** The user id (launchd's gui/<uid> domain); default process.getuid(). */
  uid?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs a command without a shell (injected in tests); a missing command resolves to code 127. */
export type CommandRunner = (command: string, args: string[]) => Promise<RunResult>;

export interface ServiceSpec {
  platform: NodeJS.Platform;
  file: string;
  content: string | Buffer;
  mode: number;
  /** Commands that register and start the service, in order. */
  install: string[][];
  /** A command whose exit code 0 says the service is loaded/running. */
  check: string[];
  /** Commands that stop and unregister it (failures ignored: it may not be loaded). */
  uninstall: string[][];
}

export interface ServiceRecord {
  v: 1;
  platform: NodeJS.Platform;
  file: string;
  provider: string;
  config_file: string;
  installed_by: 'setup' | 'install';
}

function join(env: ServiceEnv, ...parts: string[]): string {
  return env.platform === 'win32' && !parts[0]!.startsWith('/')
    ? path.win32.join(...parts)
    : path.posix.join(...parts);
}

/** The command line the service runs: the launcher, pinned to this config and provider. */
export function serviceCommand(env: ServiceEnv, provider: string): string[] {
  return [
    launcherPath(env.paths.dataDir, env.platform),
    '--config',
    // A POSIX config path on "win32" only happens in tests pretending to be Windows.
    env.platform === 'win32' && !env.paths.configFile.startsWith('/')
      ? path.win32.resolve(env.paths.configFile)
      : path.resolve(env.paths.configFile),
    '--provider',
    provider,
    'proxy',
    'start',
  ];
}

function passedEnv(env: ServiceEnv): Array<[string, string]> {
  return PASSED_ENV.filter((k) => env.env[k]).map((k) => [k, env.env[k]!]);
}

function systemdQuote(word: string): string {
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

function systemdUnit(env: ServiceEnv, provider: string): string {
  const clean = provider.replace(/[^\w.-]/g, '');
  return [
    '# Written by `gatepass proxy install` (removed by `gatepass proxy uninstall` and teardown).',
    '[Unit]',
    `Description=gatepass proxy (provider ${clean}): fresh gateway tokens for local AI tools`,
    '',
    '[Service]',
    'Type=simple',
    ...passedEnv(env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`),
    `ExecStart=${serviceCommand(env, provider).map(systemdQuote).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function launchdPlist(env: ServiceEnv, provider: string): string {
  const log = path.posix.join(env.paths.stateDir, 'proxy-service.log');
  const vars = passedEnv(env);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...serviceCommand(env, provider).map((w) => `    <string>${xml(w)}</string>`),
    '  </array>',
    ...(vars.length
      ? [
          '  <key>EnvironmentVariables</key>',
          '  <dict>',
          ...vars.flatMap(([k, v]) => [`    <key>${k}</key>`, `    <string>${xml(v)}</string>`]),
          '  </dict>',
        ]
      : []),
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key>',
    '  <integer>5</integer>',
    '  <key>ProcessType</key>',
    '  <string>Interactive</string>',
    '  <key>StandardOutPath</key>',
    `  <string>${xml(log)}</string>`,
    '  <key>StandardErrorPath</key>',
    `  <string>${xml(log)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

function windowsArg(word: string): string {
  return /^[^\s"]+$/.test(word) ? word : `"${word.replace(/"/g, '\\"')}"`;
}

/** The Scheduled Task XML (as text; written UTF-16LE with a BOM, which schtasks reads). */
export function scheduledTaskXml(env: ServiceEnv, provider: string): string {
  const [command, ...args] = serviceCommand(env, provider);
  const user = env.env['USERNAME']
    ? `${env.env['USERDOMAIN'] ? `${env.env['USERDOMAIN']}\\` : ''}${env.env['USERNAME']}`
    : undefined;
  const userId = user ? `<UserId>${xml(user)}</UserId>` : '';
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Description>gatepass proxy (provider ${xml(provider)}): fresh gateway tokens for local AI tools. Written by gatepass proxy install.</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    `    <LogonTrigger><Enabled>true</Enabled>${userId}</LogonTrigger>`,
    '  </Triggers>',
    '  <Principals>',
    `    <Principal id="Author">${userId}<LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal>`,
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xml(command!)}</Command>`,
    `      <Arguments>${xml(args.map(windowsArg).join(' '))}</Arguments>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

export function serviceSpec(env: ServiceEnv, provider: string): ServiceSpec {
  if (env.platform === 'darwin') {
    const file = join(env, env.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    const domain = `gui/${env.uid ?? process.getuid?.() ?? 0}`;
    return {
      platform: env.platform,
      file,
      content: launchdPlist(env, provider),
      mode: 0o644,
      install: [
        ['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`],
        ['launchctl', 'bootstrap', domain, file],
      ],
      check: ['launchctl', 'print', `${domain}/${LAUNCHD_LABEL}`],
      uninstall: [['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`]],
    };
  }
  if (env.platform === 'win32') {
    const file = join(env, env.paths.dataDir, `${SERVICE_NAME}-task.xml`);
    const content = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(scheduledTaskXml(env, provider), 'utf16le'),
    ]);
    return {
      platform: env.platform,
      file,
      content,
      mode: 0o600,
      install: [
        ['schtasks', '/Create', '/TN', SERVICE_NAME, '/XML', file, '/F'],
        ['schtasks', '/Run', '/TN', SERVICE_NAME],
      ],
      check: ['schtasks', '/Query', '/TN', SERVICE_NAME],
      uninstall: [
        ['schtasks', '/End', '/TN', SERVICE_NAME],
        ['schtasks', '/Delete', '/TN', SERVICE_NAME, '/F'],
      ],
    };
  }
  const configHome = env.env['XDG_CONFIG_HOME'] || path.posix.join(env.home, '.config');
  return {
    platform: env.platform,
    file: path.posix.join(configHome, 'systemd', 'user', SYSTEMD_UNIT),
    content: systemdUnit(env, provider),
    mode: 0o644,
    install: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', SYSTEMD_UNIT],
      ['systemctl', '--user', 'restart', SYSTEMD_UNIT],
    ],
    check: ['systemctl', '--user', 'is-active', SYSTEMD_UNIT],
    uninstall: [['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT]],
  };
}

/** The real runner: no shell, the caller's environment (PATH), output kept for error messages. */
export function processRunner(env: NodeJS.ProcessEnv): CommandRunner {
  return (command, args) =>
    new Promise((resolve) => {
      execFile(command, args, { env, timeout: 30_000, windowsHide: true }, (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : (err as NodeJS.ErrnoException).code === 'ENOENT'
              ? 127
              : typeof err.code === 'number'
                ? err.code
                : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
}

/** Can services be managed here? Linux: a systemd user manager answers; elsewhere: assumed. */
async function managerAvailable(spec: ServiceSpec, run: CommandRunner): Promise<boolean> {
  if (spec.platform !== 'linux') return true;
  return (await run('systemctl', ['--user', 'show-environment'])).code === 0;
}

export function recordFile(stateDir: string): string {
  return path.join(stateDir, 'proxy-service.json');
}

export async function readServiceRecord(stateDir: string): Promise<ServiceRecord | undefined> {
  const text = await readTextIfExists(recordFile(stateDir)).catch(() => undefined);
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as ServiceRecord;
    return typeof r.file === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

export interface InstallResult {
  file: string;
  /** Registered and started with the platform's service manager. */
  started: boolean;
  /** When not started: the commands the user runs to enable it. */
  manual: string[];
}

function line(cmd: string[]): string {
  return cmd.map((w) => (/^[\w./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function failure(cmd: string[], r: RunResult): Error {
  const detail = (r.stderr || r.stdout)
    .replace(/[\p{Cc}]+/gu, ' ')
    .trim()
    .slice(0, 300);
  return new Error(`\`${line(cmd)}\` failed (exit ${r.code})${detail ? `: ${detail}` : ''}`);
}

/** Write the service file, record it, and register + start it where a service manager answers. */
/** Tell the user what `installService` did: started, or written with the commands that enable it. */
export function reportInstall(logger: Logger, r: InstallResult): void {
  if (r.started) logger.info(`Installed and started the gatepass proxy service: ${r.file}`);
  else
    logger.warn(
      `wrote ${r.file}, but no systemd user manager answers here: enable it in a session that has one with\n  ${r.manual.join('\n  ')}`,
    );
}

export async function installService(
  env: ServiceEnv,
  provider: string,
  options: { run: CommandRunner; logger: Logger; installedBy: ServiceRecord['installed_by'] },
): Promise<InstallResult> {
  const spec = serviceSpec(env, provider);
  await fsp.mkdir(path.dirname(spec.file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(spec.file, spec.content, { mode: spec.mode });
  const record: ServiceRecord = {
    v: 1,
    platform: env.platform,
    file: spec.file,
    provider,
    config_file: env.paths.configFile,
    installed_by: options.installedBy,
  };
  await writeFileAtomic(recordFile(env.paths.stateDir), `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o600,
  });
  if (!(await managerAvailable(spec, options.run))) {
    return { file: spec.file, started: false, manual: spec.install.map(line) };
  }
  for (const [i, cmd] of spec.install.entries()) {
    const r = await options.run(cmd[0]!, cmd.slice(1));
    // launchd: booting out an agent that is not loaded fails, as it should the first time.
    if (r.code !== 0 && !(spec.platform === 'darwin' && i === 0)) throw failure(cmd, r);
  }
  const check = await options.run(spec.check[0]!, spec.check.slice(1));
  if (check.code !== 0) throw failure(spec.check, check);
  options.logger.debug(`proxy service: ${line(spec.check)} succeeded`);
  return { file: spec.file, started: true, manual: [] };
}

/** Stop, unregister and remove the recorded service; false when none was recorded. */
export async function uninstallService(
  env: ServiceEnv,
  options: { run: CommandRunner; logger: Logger },
): Promise<{ removed: boolean; file?: string }> {
  const record = await readServiceRecord(env.paths.stateDir);
  if (!record) return { removed: false };
  const spec = serviceSpec({ ...env, platform: record.platform }, record.provider);
  if (await managerAvailable(spec, options.run).catch(() => false)) {
    for (const cmd of spec.uninstall) {
      const r = await options.run(cmd[0]!, cmd.slice(1));
      if (r.code !== 0) options.logger.debug(`proxy service: ${failure(cmd, r).message} (ignored)`);
    }
  }
  await removeFileDurable(record.file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await removeFileDurable(recordFile(env.paths.stateDir)).catch(() => {});
  if (spec.platform === 'linux' && (await managerAvailable(spec, options.run).catch(() => false)))
    await options.run('systemctl', ['--user', 'daemon-reload']);
  return { removed: true, file: record.file };
}
