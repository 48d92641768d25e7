/**
 * The proxy service per platform (platform injected, as the tool modules are): the exact launchd
 * plist and Scheduled Task XML, their modes, and the exact service-manager commands install and
 * uninstall run (through an injected runner: launchctl and schtasks do not exist here).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import {
  type CommandRunner,
  installService,
  type ServiceEnv,
  serviceSpec,
  uninstallService,
} from '../../src/setup/service.js';

let dir: string;
const logger = createLogger({ verbose: false, quiet: true, stream: process.stderr });

function env(platform: NodeJS.Platform, extra: NodeJS.ProcessEnv = {}): ServiceEnv {
  return {
    platform,
    home: dir,
    env: extra,
    uid: 501,
    paths: {
      configFile: path.join(dir, 'cfg', 'config.yaml'),
      dataDir: path.join(dir, 'data'),
      stateDir: path.join(dir, 'state'),
    },
  };
}

function recorder(codes: Record<string, number> = {}): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: (cmd, args) => {
      const l = [cmd, ...args].join(' ');
      calls.push(l);
      return Promise.resolve({ code: codes[l] ?? 0, stdout: '', stderr: '' });
    },
  };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gp-service-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('macOS launchd agent', () => {
  it('writes the exact plist (0644) and bootstraps it in gui/<uid>; uninstall boots it out', async () => {
    const e = env('darwin', { GATEPASS_STATE_DIR: path.join(dir, 'state & more') });
    const { run, calls } = recorder({ [`launchctl bootout gui/501/dev.gatepass.proxy`]: 3 });
    const r = await installService(e, 'work', { run, logger, installedBy: 'install' });
    const file = path.join(dir, 'Library/LaunchAgents/dev.gatepass.proxy.plist');
    expect(r).toEqual({ file, started: true, manual: [] });
    expect(readFileSync(file, 'utf8')).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>dev.gatepass.proxy</string>
  <key>ProgramArguments</key>
  <array>
    <string>${dir}/data/bin/gatepass</string>
    <string>--config</string>
    <string>${dir}/cfg/config.yaml</string>
    <string>--provider</string>
    <string>work</string>
    <string>proxy</string>
    <string>start</string>
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>GATEPASS_STATE_DIR</key>
    <string>${dir}/state &amp; more</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ProcessType</key>
  <string>Interactive</string>
  <key>StandardOutPath</key>
  <string>${dir}/state/proxy-service.log</string>
  <key>StandardErrorPath</key>
  <string>${dir}/state/proxy-service.log</string>
</dict>
</plist>
`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    // The first bootout fails (not loaded yet): that is expected, not an error.
    expect(calls).toEqual([
      'launchctl bootout gui/501/dev.gatepass.proxy',
      `launchctl bootstrap gui/501 ${file}`,
      'launchctl print gui/501/dev.gatepass.proxy',
    ]);

    calls.length = 0;
    expect(await uninstallService(e, { run, logger })).toEqual({ removed: true, file });
    expect(calls).toEqual(['launchctl bootout gui/501/dev.gatepass.proxy']);
    expect(() => statSync(file)).toThrow();
  });

  it('a failing bootstrap is an error', async () => {
    const e = env('darwin');
    const file = path.join(dir, 'Library/LaunchAgents/dev.gatepass.proxy.plist');
    const { run } = recorder({ [`launchctl bootstrap gui/501 ${file}`]: 5 });
    await expect(installService(e, 'work', { run, logger, installedBy: 'install' })).rejects.toThrow(
      /launchctl bootstrap gui\/501 .* failed \(exit 5\)/,
    );
  });
});

describe('Windows Scheduled Task', () => {
  it('writes the exact task XML (UTF-16LE with BOM, 0600), creates and runs the task; uninstall deletes it', async () => {
    const e = env('win32', { USERNAME: 'dave', USERDOMAIN: 'CORP' });
    const { run, calls } = recorder();
    const r = await installService(e, 'work', { run, logger, installedBy: 'setup' });
    const file = path.posix.join(dir, 'data', 'gatepass-proxy-task.xml');
    expect(r.file).toBe(file);
    const buf = readFileSync(file);
    expect([...buf.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(buf.subarray(2).toString('utf16le')).toBe(
      [
        '<?xml version="1.0" encoding="UTF-16"?>',
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
        '  <RegistrationInfo>',
        '    <Description>gatepass proxy (provider work): fresh gateway tokens for local AI tools. Written by gatepass proxy install.</Description>',
        '  </RegistrationInfo>',
        '  <Triggers>',
        '    <LogonTrigger><Enabled>true</Enabled><UserId>CORP\\dave</UserId></LogonTrigger>',
        '  </Triggers>',
        '  <Principals>',
        '    <Principal id="Author"><UserId>CORP\\dave</UserId><LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal>',
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
        `      <Command>${dir}/data/bin/gatepass.cmd</Command>`,
        `      <Arguments>--config ${dir}/cfg/config.yaml --provider work proxy start</Arguments>`,
        '    </Exec>',
        '  </Actions>',
        '</Task>',
        '',
      ].join('\r\n'),
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(calls).toEqual([
      `schtasks /Create /TN gatepass-proxy /XML ${file} /F`,
      'schtasks /Run /TN gatepass-proxy',
      'schtasks /Query /TN gatepass-proxy',
    ]);
    calls.length = 0;
    expect((await uninstallService(e, { run, logger })).removed).toBe(true);
    expect(calls).toEqual(['schtasks /End /TN gatepass-proxy', 'schtasks /Delete /TN gatepass-proxy /F']);
    expect(() => statSync(file)).toThrow();
  });

  it('uses Windows paths and quotes arguments with spaces on a Windows data dir', () => {
    const e: ServiceEnv = {
      platform: 'win32',
      home: 'C:\\Users\\Dave Smith',
      env: {},
      paths: {
        configFile: 'C:\\Users\\Dave Smith\\.config\\gatepass\\config.yaml',
        dataDir: 'C:\\Users\\Dave Smith\\AppData\\Local\\gatepass',
        stateDir: 'C:\\Users\\Dave Smith\\AppData\\Local\\gatepass',
      },
    };
    const spec = serviceSpec(e, 'default');
    expect(spec.file).toBe('C:\\Users\\Dave Smith\\AppData\\Local\\gatepass\\gatepass-proxy-task.xml');
    const text = (spec.content as Buffer).subarray(2).toString('utf16le');
    expect(text).toContain(
      '<Command>C:\\Users\\Dave Smith\\AppData\\Local\\gatepass\\bin\\gatepass.cmd</Command>',
    );
    expect(text).toContain(
      '<Arguments>--config &quot;C:\\Users\\Dave Smith\\.config\\gatepass\\config.yaml&quot; --provider default proxy start</Arguments>',
    );
    // No user known: the logon trigger names nobody rather than a wrong user.
    expect(text).toContain('<LogonTrigger><Enabled>true</Enabled></LogonTrigger>');
  });
});

describe('Linux systemd unit quoting', () => {
  it('escapes %, $, quotes and backslashes in ExecStart and Environment', () => {
    const e = env('linux', { GATEPASS_CACHE_DIR: '/tmp/a "b" $HOME 100%' });
    const spec = serviceSpec(e, 'work');
    expect(spec.file).toBe(path.join(dir, '.config/systemd/user/gatepass-proxy.service'));
    expect(spec.content).toContain('Environment="GATEPASS_CACHE_DIR=/tmp/a \\"b\\" $$HOME 100%%"');
    expect(spec.content).toContain(`ExecStart="${dir}/data/bin/gatepass" "--config"`);
  });

  it('uninstall with nothing recorded does nothing', async () => {
    const { run, calls } = recorder();
    expect(await uninstallService(env('linux'), { run, logger })).toEqual({ removed: false });
    expect(calls).toEqual([]);
  });
});
