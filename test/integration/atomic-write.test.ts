/**
 * writeFileAtomic and ensurePrivateDir on a real file system: readers see the old or the new content,
 * never a mix; modes are private; a symlinked file stays a symlink; a failed write leaves the old
 * file and no temp file behind; only gatepass' own directories get their mode narrowed.
 */
import {
  promises as fsp,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatepassError } from '../../src/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../../src/util/fs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('concurrent readers see the old or the new content, never a partial file', async () => {
    const file = path.join(dir, 'config.yaml');
    const a = 'a'.repeat(2 * 1024 * 1024);
    const b = 'b'.repeat(3 * 1024 * 1024);
    await writeFileAtomic(file, a);
    let writing = true;
    const reads: string[] = [];
    const reader = (async () => {
      while (writing) reads.push(await fsp.readFile(file, 'utf8'));
    })();
    for (let i = 0; i < 10; i++) await writeFileAtomic(file, i % 2 ? a : b);
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) expect(r === a || r === b).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(a);
  });

  it('creates the file 0600 (whatever the umask) and missing directories 0700', async () => {
    const file = path.join(dir, 'x/y/secret.json');
    const old = process.umask(0);
    try {
      await writeFileAtomic(file, '{}');
    } finally {
      process.umask(old);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'x')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'x/y')).mode & 0o777).toBe(0o700);
  });

  it('writes through a symlink, which stays a symlink', async () => {
    const target = path.join(dir, 'real.yaml');
    const link = path.join(dir, 'link.yaml');
    await writeFileAtomic(target, 'old');
    symlinkSync(target, link);
    await writeFileAtomic(link, 'new');
    expect((await fsp.lstat(link)).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new');
  });

  it('a dangling relative symlink behind a symlinked directory gets its target created and stays a link', async () => {
    // ~/.gemini -> dotfiles/gemini (a linked directory); .env in it -> ../envs/gemini.env (dangling),
    // which the kernel resolves from dotfiles/gemini, not from the linked path.
    mkdirSync(path.join(dir, 'dotfiles/gemini'), { recursive: true });
    symlinkSync(path.join(dir, 'dotfiles/gemini'), path.join(dir, 'gemini'));
    symlinkSync('../envs/gemini.env', path.join(dir, 'dotfiles/gemini/.env'));
    await writeFileAtomic(path.join(dir, 'gemini/.env'), 'A=1\n');
    expect(lstatSync(path.join(dir, 'dotfiles/gemini/.env')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'dotfiles/envs/gemini.env'), 'utf8')).toBe('A=1\n');
    expect(readFileSync(path.join(dir, 'gemini/.env'), 'utf8')).toBe('A=1\n');
    expect(statSync(path.join(dir, 'dotfiles/envs')).mode & 0o777).toBe(0o700);
  });

  it('a failed write throws E_IO, keeps nothing half-written and leaves no temp file', async () => {
    const target = path.join(dir, 'taken');
    mkdirSync(target); // rename over a directory fails
    await fsp.writeFile(path.join(target, 'keep'), 'x');
    const err = await writeFileAtomic(target, 'data').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatepassError);
    expect((err as GatepassError).code).toBe('E_IO');
    expect((await fsp.readdir(dir)).sort()).toEqual(['taken']);
    expect(readFileSync(path.join(target, 'keep'), 'utf8')).toBe('x');
  });
});

describe('ensurePrivateDir', () => {
  it("narrows its own existing directory to 0700, leaves a directory of the user's alone", async () => {
    const own = path.join(dir, 'gatepass');
    const users = path.join(dir, 'project');
    for (const d of [own, users]) {
      mkdirSync(d);
      await fsp.chmod(d, 0o755);
    }
    await ensurePrivateDir(own);
    await ensurePrivateDir(users, 0o700, { tightenExisting: false });
    expect(statSync(own).mode & 0o777).toBe(0o700);
    expect(statSync(users).mode & 0o777).toBe(0o755);
    const created = path.join(dir, 'new/deeper');
    await ensurePrivateDir(created, 0o700, { tightenExisting: false });
    expect(statSync(created).mode & 0o777).toBe(0o700);
  });
});
