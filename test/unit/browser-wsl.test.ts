/** Opening the Windows browser from WSL: fake wslview / cmd.exe / explorer.exe on PATH record their argv. */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canOpenBrowser, cmdEscape, createBrowserOpener, isWsl } from '../../src/auth/browser.js';

const URL_WITH_QUERY =
  'https://idp.example.com/authorize?client_id=a&state=x^y&redirect_uri=http%3A%2F%2F127.0.0.1';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-wsl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A fake opener: records its arguments (one per line) in <dir>/<name>.argv, then exits with `code`. */
function fake(name: string, code = 0): void {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "[$a]"; done > "${file}.argv"\nexit ${code}\n`,
  );
  chmodSync(file, 0o755);
}

async function argvOf(name: string): Promise<string[] | undefined> {
  const file = path.join(dir, `${name}.argv`);
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 50));
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n') : undefined;
}

const wslEnv = () => ({ PATH: dir, WSL_DISTRO_NAME: 'Ubuntu' });
const open = (env: NodeJS.ProcessEnv) =>
  createBrowserOpener(env, { platform: 'linux', readOsRelease: () => '6.1.0' });

describe('browser under WSL', () => {
  it('uses wslview when it is installed', async () => {
    fake('wslview');
    fake('cmd.exe');
    await open(wslEnv())(URL_WITH_QUERY);
    expect(await argvOf('wslview')).toEqual([`[${URL_WITH_QUERY}]`]);
    expect(existsSync(path.join(dir, 'cmd.exe.argv'))).toBe(false);
  });

  it('else cmd.exe /c start "" with the URL escaped for cmd (& does not end the command)', async () => {
    fake('cmd.exe');
    fake('explorer.exe');
    await open(wslEnv())(URL_WITH_QUERY);
    expect(await argvOf('cmd.exe')).toEqual([
      '[/c]',
      '[start]',
      '[]',
      '[https://idp.example.com/authorize?client_id=a^&state=x^^y^&redirect_uri=http%3A%2F%2F127.0.0.1]',
    ]);
    expect(existsSync(path.join(dir, 'explorer.exe.argv'))).toBe(false);
  });

  it('a failing wslview falls back to cmd.exe; else explorer.exe, whose exit code 1 is not a failure', async () => {
    fake('wslview', 3);
    fake('explorer.exe', 1);
    await open(wslEnv())(URL_WITH_QUERY);
    expect(await argvOf('wslview')).toEqual([`[${URL_WITH_QUERY}]`]);
    expect(await argvOf('explorer.exe')).toEqual([`[${URL_WITH_QUERY}]`]);
  });

  it('none of them: fails, naming each, so the caller prints the URL', async () => {
    await expect(open(wslEnv())(URL_WITH_QUERY)).rejects.toThrow(/wslview: .*cmd\.exe: .*explorer\.exe: /);
  });

  it('GATEPASS_BROWSER still wins under WSL', async () => {
    fake('mybrowser');
    fake('wslview');
    await open({ ...wslEnv(), GATEPASS_BROWSER: path.join(dir, 'mybrowser') })('https://x.example/');
    expect(await argvOf('mybrowser')).toEqual(['[https://x.example/]']);
    expect(existsSync(path.join(dir, 'wslview.argv'))).toBe(false);
  });

  it('detects WSL from WSL_DISTRO_NAME or the kernel release, only on Linux', () => {
    expect(isWsl({ WSL_DISTRO_NAME: 'Ubuntu' }, { platform: 'linux', readOsRelease: () => '6.1.0' })).toBe(
      true,
    );
    expect(
      isWsl({}, { platform: 'linux', readOsRelease: () => '5.15.153.1-microsoft-standard-WSL2\n' }),
    ).toBe(true);
    expect(isWsl({}, { platform: 'linux', readOsRelease: () => '4.4.0-19041-Microsoft' })).toBe(true);
    expect(isWsl({}, { platform: 'linux', readOsRelease: () => '6.1.0-18-amd64' })).toBe(false);
    expect(
      isWsl(
        {},
        {
          platform: 'linux',
          readOsRelease: () => {
            throw new Error('ENOENT');
          },
        },
      ),
    ).toBe(false);
    expect(isWsl({ WSL_DISTRO_NAME: 'Ubuntu' }, { platform: 'darwin' })).toBe(false);
    // WSL without a graphical session can still open the Windows browser.
    expect(canOpenBrowser({ WSL_DISTRO_NAME: 'Ubuntu' }, 'linux')).toBe(true);
  });

  it('cmdEscape escapes every cmd metacharacter and leaves the rest', () => {
    expect(cmdEscape('a&b|c<d>e^f(g)h%2Fi')).toBe('a^&b^|c^<d^>e^^f^(g^)h%2Fi');
  });
});
