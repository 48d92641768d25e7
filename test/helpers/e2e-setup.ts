import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The end-to-end suite needs real parts from Debian and npm. Missing ones fail the run at once with
 * the command that installs them, instead of skipping tests silently.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '../..');
  const debian: Array<[string, string]> = [
    [process.env['GATEPASS_TEST_CHROMIUM'] ?? '/usr/bin/chromium', 'chromium'],
    ['/usr/bin/gnome-keyring-daemon', 'gnome-keyring'],
    ['/usr/bin/dbus-run-session', 'dbus'],
  ];
  const missing = debian.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg);
  const problems: string[] = [];
  if (missing.length) {
    problems.push(
      `Debian packages missing: ${missing.join(', ')} — run .ci/run, or: sudo apt-get install -y --no-install-recommends ${missing.join(' ')} dbus-x11 libsecret-tools`,
    );
  }
  // npm runs no install scripts here, so @anthropic-ai/claude-code still holds its placeholder
  // binary after `npm ci`: run its installer once (it copies the native binary from the optional
  // platform package already in node_modules; no download).
  const claudePkg = path.join(root, 'node_modules/@anthropic-ai/claude-code');
  const claudeBin = path.join(claudePkg, 'bin/claude.exe');
  if (existsSync(claudePkg) && (!existsSync(claudeBin) || statSync(claudeBin).size < 1_000_000)) {
    const r = spawnSync(process.execPath, [path.join(claudePkg, 'install.cjs')], {
      cwd: claudePkg,
      stdio: 'inherit',
    });
    if (r.status !== 0)
      problems.push('Claude Code native binary could not be installed (install.cjs failed)');
  }
  if (problems.length) throw new Error(`end-to-end prerequisites:\n  ${problems.join('\n  ')}`);
}
