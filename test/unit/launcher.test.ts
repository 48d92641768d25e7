/**
 * The launcher tools run gatepass through (src/tools/launcher.ts): it starts its target with the
 * caller's arguments; when the target is gone it falls back to a `gatepass` on PATH (once, never
 * itself again), else says to run setup again and exits 127. The Windows script checks its targets.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { launcherPath, launcherScript, writeLauncher } from '../../src/tools/launcher.js';

/** Run a file to completion, stdin ignored. */
async function runProcess(file: string, args: string[], options: { env: NodeJS.ProcessEnv }) {
  const r = spawnSync(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-launcher-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${text}\n`);
  chmodSync(f, 0o755);
  return f;
}

it.skipIf(process.platform === 'win32')('starts its target with the arguments, quoted', async () => {
  const target = script("my gate'pass.js", 'echo "args: $*"');
  const launcher = await writeLauncher(dir, { command: '/bin/sh', args: [target] }, 'linux');
  expect(launcher).toBe(path.join(dir, 'bin', 'gatepass'));
  const r = await runProcess(launcher, ['--provider', 'work', 'token', 'a b'], {
    env: { PATH: '/usr/bin:/bin' },
  });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('args: --provider work token a b\n');
});

it.skipIf(process.platform === 'win32')(
  'target gone: a gatepass on PATH, else exit 127 saying to run setup',
  async () => {
    const gone = path.join(dir, 'old', 'dist', 'cli.js');
    const launcher = await writeLauncher(dir, { command: process.execPath, args: [gone] }, 'linux');
    const none = await runProcess(launcher, ['token'], { env: { PATH: '/usr/bin:/bin' } });
    expect(none.code).toBe(127);
    expect(none.stderr).toContain(`${gone} no longer exists`);
    expect(none.stderr).toContain('run `gatepass setup` again');

    const bin = path.join(dir, 'pathbin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'gatepass'), '#!/bin/sh\necho "from PATH: $* ($GATEPASS_LAUNCHER)"\n');
    chmodSync(path.join(bin, 'gatepass'), 0o755);
    const fallback = await runProcess(launcher, ['token'], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(fallback.code, fallback.stderr).toBe(0);
    expect(fallback.stdout).toBe('from PATH: token (1)\n');
    // A launcher found on PATH never runs itself again.
    const loop = await runProcess(launcher, ['token'], {
      env: { PATH: `${bin}:/usr/bin:/bin`, GATEPASS_LAUNCHER: '1' },
    });
    expect(loop.code).toBe(127);
  },
);

it('the Windows launcher checks its targets and passes every argument', () => {
  expect(launcherPath('C:\\Users\\u\\AppData\\Local\\gatepass\\Data', 'win32')).toBe(
    'C:\\Users\\u\\AppData\\Local\\gatepass\\Data\\bin\\gatepass.cmd',
  );
  const text = launcherScript(
    { command: 'C:\\node\\node.exe', args: ['C:\\gp 100%\\dist\\cli.js'] },
    'win32',
  );
  expect(text).toContain('if not exist "C:\\node\\node.exe" goto missing\r\n');
  expect(text).toContain('if not exist "C:\\gp 100%%\\dist\\cli.js" goto missing\r\n');
  expect(text).toContain('"C:\\node\\node.exe" "C:\\gp 100%%\\dist\\cli.js" %*\r\n');
  expect(text).toContain('exit /b 9009');
});
