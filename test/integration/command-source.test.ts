/**
 * The command token source in-process, with real child processes (small node scripts standing in
 * for corporate SSO tools), a real cache file and real locks in a temp directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginCommandProvider, logoutCommandProvider } from '../../src/auth/command/login.js';
import { createCommandTokenSource } from '../../src/auth/command/source.js';
import { shellQuote } from '../../src/auth/export.js';
import type { AuthContext } from '../../src/auth/types.js';
import type { GatepassPaths } from '../../src/config/paths.js';
import { type CommandAuthSettings, type CommandProvider, emptyConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { clearRegisteredSecrets } from '../../src/redact.js';
import { createMemoryStore } from '../../src/secrets/memory.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');

let dir: string;
let paths: GatepassPaths;
let countFile: string;
let clock: number;
let stderr: PassThrough;
let errText: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-cmd-'));
  paths = {
    configFile: path.join(dir, 'config.yaml'),
    configDir: dir,
    cacheDir: path.join(dir, 'cache'),
    stateDir: path.join(dir, 'state'),
    dataDir: path.join(dir, 'state'),
  };
  countFile = path.join(dir, 'count');
  clock = Date.now();
  errText = '';
  stderr = new PassThrough();
  stderr.setEncoding('utf8').on('data', (d: string) => {
    errText += d;
  });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  clearRegisteredSecrets();
});

function provider(auth: CommandAuthSettings): CommandProvider {
  return { type: 'command', gateway_url: 'https://llm.example.com', auth };
}

function context(env: NodeJS.ProcessEnv = {}): AuthContext {
  return {
    config: emptyConfig(),
    configFile: paths.configFile,
    paths,
    logger: createLogger({ stream: stderr, verbose: true }),
    env: { PATH: process.env['PATH'], HOME: dir, FAKE_COUNT_FILE: countFile, ...env },
    now: () => clock,
    secrets: createMemoryStore(),
    interactive: false,
    stderr,
  };
}

const runs = () =>
  existsSync(countFile) ? readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean) : [];
const cacheOf = (name = 'corp') => path.join(paths.cacheDir, 'tokens', `${name}.json`);
/** Alive and not a zombie (in a container nobody may reap an orphan's exit status). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
const nowS = () => Math.floor(clock / 1000);

describe('command token source', () => {
  it('runs token_command once, caches 0600, then serves memory and cache', async () => {
    const p = provider({ token_command: cmd('bare', 'tok-bare-1234') });
    const src = createCommandTokenSource(context(), 'corp', p);
    const a = await src.getToken();
    expect(a).toEqual({ token: 'tok-bare-1234', origin: 'command' });
    expect((await src.getToken()).origin).toBe('memory');
    const file = cacheOf();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const cached = JSON.parse(readFileSync(file, 'utf8'));
    expect(cached).toMatchObject({ token: 'tok-bare-1234', metadata: { source: 'token_command' } });
    // A second process (fresh source) reads the cache without running the command.
    const again = await createCommandTokenSource(context(), 'corp', p).getToken();
    expect(again).toEqual({ token: 'tok-bare-1234', origin: 'cache' });
    expect(runs()).toHaveLength(1);
    // The command's stderr was passed through.
    expect(errText).toContain('fake: fetching token');
  });

  it('JSON, Google executable response and JWT expiries land in the cache', async () => {
    const exp = nowS() + 3600;
    const json = await createCommandTokenSource(
      context(),
      'a',
      provider({ token_command: cmd('json', 'tok-json-1', String(exp), 'rt-123456789') }),
    ).getToken();
    expect(json).toEqual({ token: 'tok-json-1', expiresAt: exp * 1000, origin: 'command' });
    expect(JSON.parse(readFileSync(cacheOf('a'), 'utf8'))).toMatchObject({
      expires_at: exp,
      refresh_token: 'rt-123456789',
    });
    const g = await createCommandTokenSource(
      context(),
      'g',
      provider({ token_command: cmd('google', 'tok-goog-1', String(exp)) }),
    ).getToken();
    expect(g.expiresAt).toBe(exp * 1000);
    const j = await createCommandTokenSource(
      context(),
      'j',
      provider({ token_command: cmd('jwt', String(exp + 1)) }),
    ).getToken();
    expect(j.expiresAt).toBe((exp + 1) * 1000);
    expect(JSON.parse(readFileSync(cacheOf('j'), 'utf8')).metadata.expiry_source).toBe('jwt');
  });

  it('the env var always wins, even over a fresh cache and forceRefresh', async () => {
    const p = provider({ env_var: 'CORP_TOKEN', token_command: cmd('bare', 'tok-cmd-1') });
    await createCommandTokenSource(context(), 'corp', p).getToken();
    const src = createCommandTokenSource(context({ CORP_TOKEN: ' env-token-1 ' }), 'corp', p);
    expect(await src.getToken({ forceRefresh: true })).toEqual({ token: 'env-token-1', origin: 'env' });
    expect(runs()).toHaveLength(1);
    // Empty means unset.
    expect((await createCommandTokenSource(context({ CORP_TOKEN: '' }), 'corp', p).getToken()).origin).toBe(
      'cache',
    );
    await expect(
      createCommandTokenSource(context({ CORP_TOKEN: 'a b' }), 'corp', p).getToken(),
    ).rejects.toThrow(/CORP_TOKEN .* characters a token may not hold/);
  });

  it('env var only, unset: E_AUTH_REQUIRED naming the variable', async () => {
    const src = createCommandTokenSource(context(), 'corp', provider({ env_var: 'CORP_TOKEN' }));
    await expect(src.getToken()).rejects.toMatchObject({
      code: 'E_AUTH_REQUIRED',
      message: expect.stringMatching(/CORP_TOKEN is not set/),
    });
  });

  it('expiry minus 60 s skew: near expiry runs refresh_command (with the refresh token); token_command is the fallback', async () => {
    const p = provider({
      token_command: cmd('json', 'tok-initial', String(nowS() + 600), 'rt-abcdefgh'),
      refresh_command: cmd('refresh', 'tok-refreshed', String(nowS() + 7200)),
    });
    const src = createCommandTokenSource(context(), 'corp', p);
    expect((await src.getToken()).token).toBe('tok-initial');
    clock += 541_000; // 59 s left: inside the skew
    const r = await src.getToken();
    expect(r).toMatchObject({ token: 'tok-refreshed', origin: 'refresh' });
    expect(runs()).toEqual([
      expect.stringMatching(/^json /),
      expect.stringMatching(/^refresh /),
      'rt=rt-abcdefgh',
    ]);
    // The refresh kept the refresh token in the cache.
    expect(JSON.parse(readFileSync(cacheOf(), 'utf8'))).toMatchObject({
      token: 'tok-refreshed',
      refresh_token: 'rt-abcdefgh',
    });

    // A failing refresh_command falls back to token_command, with a warning.
    const q = provider({
      token_command: cmd('bare', 'tok-fallback'),
      refresh_command: cmd('fail', 'whatever-secret'),
    });
    clock += 7200_000;
    const s2 = createCommandTokenSource(context(), 'corp', q);
    expect(await s2.getToken()).toMatchObject({ token: 'tok-fallback', origin: 'command' });
    expect(errText).toMatch(
      /refresh_command of provider "corp" exited with code 3; running token_command instead|refresh_command of provider "corp" failed; running token_command/,
    );
  });

  it('no refresh_command: an expired cache runs token_command; refresh_interval forces renewal too', async () => {
    const p = provider({ token_command: cmd('json', 'tok-short', String(nowS() + 120)) });
    const src = createCommandTokenSource(context(), 'corp', p);
    await src.getToken();
    clock += 30_000; // 90 s left: still valid
    expect((await src.getToken()).origin).toBe('memory');
    clock += 31_000; // 59 s left
    expect((await createCommandTokenSource(context(), 'corp', p).getToken()).origin).toBe('command');
    expect(runs()).toHaveLength(2);

    const q = provider({
      token_command: cmd('bare', 'tok-interval'),
      token_ttl: 3600,
      refresh_interval: 600,
    });
    const s2 = createCommandTokenSource(context(), 'iv', q);
    expect(await s2.getToken()).toMatchObject({ origin: 'command', expiresAt: clock + 3_600_000 });
    clock += 599_000;
    expect((await s2.getToken()).origin).toBe('memory');
    clock += 1000;
    expect((await s2.getToken()).origin).toBe('command');
    expect(runs()).toHaveLength(4);
  });

  it('asking for more validity than the tokens ever have does not re-run the command every time', async () => {
    const src = createCommandTokenSource(
      context(),
      'corp',
      provider({ token_command: cmd('json', 'tok-5min', String(nowS() + 300)) }),
    );
    expect((await src.getToken({ minValidityMs: 600_000 })).origin).toBe('command');
    expect((await src.getToken({ minValidityMs: 600_000 })).origin).toBe('memory');
    clock += 151_000; // less than half the lifetime left
    expect((await src.getToken({ minValidityMs: 600_000 })).origin).not.toBe('memory');
  });

  it('the command may write the cache file itself and print nothing', async () => {
    const exp = nowS() + 900;
    const src = createCommandTokenSource(
      context(),
      'corp',
      provider({ token_command: cmd('writes-cache', 'tok-self-written', String(exp)) }),
    );
    expect(await src.getToken()).toEqual({
      token: 'tok-self-written',
      expiresAt: exp * 1000,
      origin: 'command',
    });
    expect(JSON.parse(readFileSync(cacheOf(), 'utf8')).metadata).toEqual({ by: 'command' });
    expect(statSync(cacheOf()).mode & 0o777).toBe(0o600);
  });

  it('failures: exit code with redacted stderr tail, empty, non-UTF-8, huge output; no secret in messages', async () => {
    const secret = 'S3cr3t-T0ken-abcdefghijkl';
    const fail = createCommandTokenSource(context(), 'f', provider({ token_command: cmd('fail', secret) }));
    const e = (await fail.getToken().catch((x: unknown) => x)) as Error & { code: string };
    expect(e).toMatchObject({ code: 'E_TOKEN_COMMAND' });
    expect(e.message).toMatch(/token_command of provider "f" exited with code 3/);
    expect(e.message).toContain('the IdP said no');
    expect(e.message).not.toContain(secret);
    // The pass-through of a non-interactive command's stderr is redacted too.
    expect(errText).toContain('fake: the IdP said no');
    expect(errText).not.toContain(secret);
    expect(existsSync(cacheOf('f'))).toBe(false);

    // A broken output contract also carries the command's (redacted) stderr tail: that is where a
    // tool says why it printed nothing, or printed a debug dump instead of the token.
    for (const [mode, re, why] of [
      ['empty', /printed nothing on stdout/, 'fake: empty: not logged in, run corp-auth login'],
      ['nonutf8', /not valid UTF-8/, 'fake: nonutf8: wrong locale'],
      ['huge', /more than 64 KiB/, 'fake: huge: debug dump follows'],
    ] as const) {
      const src = createCommandTokenSource(context(), mode, provider({ token_command: cmd(mode, secret) }));
      const err = (await src.getToken().catch((x: unknown) => x)) as Error & { code: string };
      expect(err, mode).toMatchObject({ code: 'E_TOKEN_COMMAND', message: expect.stringMatching(re) });
      expect(err.message, mode).toContain(`--- its stderr (last lines, redacted) ---\n`);
      expect(err.message, mode).toContain(why);
      expect(err.message, mode).not.toContain(secret);
      expect(existsSync(cacheOf(mode)), mode).toBe(false);
    }
  });

  it('timeout kills the whole process group (grandchildren too)', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const src = createCommandTokenSource(
      context(),
      'slow',
      provider({ token_command: cmd('slow', pidFile), timeout: 1 }),
    );
    const started = Date.now();
    await expect(src.getToken()).rejects.toMatchObject({
      code: 'E_AUTH_TIMEOUT',
      message: expect.stringMatching(/did not finish within 1 s[\s\S]*waiting forever/),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    const gpid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(gpid)).toBe(false);
  });

  it('an AbortSignal cancels a running command', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const src = createCommandTokenSource(
      context(),
      'slow',
      provider({ token_command: cmd('slow', pidFile) }),
    );
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    await expect(src.getToken({ signal: ac.signal })).rejects.toThrow(/was cancelled/);
  });

  it('non-interactive token_command gets no stdin (EOF, never hangs)', async () => {
    const src = createCommandTokenSource(
      context(),
      'p',
      provider({ token_command: cmd('stdin-probe'), timeout: 10 }),
    );
    expect((await src.getToken()).token).toBe('probe-0');
  });

  it('refresh_command never gets stdin, even when the caller allows interactive commands', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(cacheOf()), { recursive: true });
    writeFileSync(
      cacheOf(),
      JSON.stringify({
        token: 'old-cached-tok',
        expires_at: nowS() + 30,
        metadata: { obtained_at: nowS() - 3570 },
      }),
    );
    const src = createCommandTokenSource({ ...context(), interactive: true }, 'corp', {
      ...provider({ refresh_command: cmd('stdin-probe'), timeout: 10 }),
    });
    // stdin-probe reads stdin to its end: an inherited stdin would block until the timeout.
    expect(await src.getToken({ interactive: true })).toMatchObject({ token: 'probe-0', origin: 'refresh' });
  });

  it('concurrent getToken calls in one process share one run; invalidate + forceRefresh re-runs', async () => {
    const src = createCommandTokenSource(
      context(),
      'corp',
      provider({ token_command: cmd('bare', 'tok-shared', '300') }),
    );
    const all = await Promise.all(Array.from({ length: 20 }, () => src.getToken()));
    expect(new Set(all.map((r) => r.token))).toEqual(new Set(['tok-shared']));
    expect(runs()).toHaveLength(1);
    src.invalidate('tok-shared');
    await src.getToken({ forceRefresh: true });
    expect(runs()).toHaveLength(2);
  });

  it('concurrent sources (as separate processes would be) run the command once through the lock', async () => {
    const p = provider({ token_command: cmd('bare', 'tok-locked', '500') });
    const all = await Promise.all(
      Array.from({ length: 8 }, () => createCommandTokenSource(context(), 'corp', p).getToken()),
    );
    expect(all.every((r) => r.token === 'tok-locked')).toBe(true);
    expect(runs()).toHaveLength(1);
  });

  it('a failure is shared with the processes waiting on the lock: the command runs once, not N times', async () => {
    const p = provider({ token_command: cmd('fail', 'failing-secret-123') });
    const all = await Promise.allSettled(
      Array.from({ length: 6 }, () => createCommandTokenSource(context(), 'corp', p).getToken()),
    );
    expect(all.every((r) => r.status === 'rejected')).toBe(true);
    expect(runs()).toHaveLength(1);
    const shared = all.filter(
      (r) =>
        r.status === 'rejected' && /failed moments ago in another gatepass process/.test(String(r.reason)),
    );
    expect(shared).toHaveLength(5);
    for (const r of all)
      expect(String((r as PromiseRejectedResult).reason)).not.toContain('failing-secret-123');
    // A later, separate attempt runs the command again (the marker only covers those who waited).
    await expect(createCommandTokenSource(context(), 'corp', p).getToken()).rejects.toThrow(
      /exited with code 3/,
    );
    expect(runs()).toHaveLength(2);
  });

  it('login forces token_command; logout deletes the cache', async () => {
    const ctx = context();
    const p = provider({ token_command: cmd('bare', 'tok-login'), token_cache: '~/tokens/custom.json' });
    await createCommandTokenSource(ctx, 'corp', p).getToken();
    const r = await loginCommandProvider({ ...ctx, interactive: false }, 'corp', p, {});
    expect(r.token).toBe('tok-login');
    expect(runs()).toHaveLength(2);
    const custom = path.join(dir, 'tokens/custom.json');
    expect(existsSync(custom)).toBe(true);
    expect(await logoutCommandProvider(ctx, 'corp', p, {})).toEqual({ deleted: true, revoked: false });
    expect(existsSync(custom)).toBe(false);
    expect(await logoutCommandProvider(ctx, 'corp', p, {})).toEqual({ deleted: false, revoked: false });
  });

  it("a cache entry without expires_at falls back to the JWT's exp, then token_ttl", async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(cacheOf()), { recursive: true });
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwtTok = (exp: number) => `${b64({ alg: 'none' })}.${b64({ exp })}.x`;
    const p = provider({ token_command: cmd('bare', 'tok-new') });
    writeFileSync(cacheOf(), JSON.stringify({ token: jwtTok(nowS() + 1000) }));
    expect(await createCommandTokenSource(context(), 'corp', p).getToken()).toMatchObject({
      origin: 'cache',
      expiresAt: (nowS() + 1000) * 1000,
    });
    writeFileSync(cacheOf(), JSON.stringify({ token: jwtTok(nowS() - 1) }));
    expect((await createCommandTokenSource(context(), 'corp', p).getToken()).token).toBe('tok-new');
    // Neither expires_at nor a JWT: token_ttl counts from when the token was obtained.
    const ttl = provider({ token_command: cmd('bare', 'tok-after-ttl'), token_ttl: 1800 });
    const opaque = (obtainedAgoS: number) =>
      writeFileSync(
        cacheOf(),
        JSON.stringify({ token: 'opaque-cached-tok', metadata: { obtained_at: nowS() - obtainedAgoS } }),
      );
    opaque(600);
    expect(await createCommandTokenSource(context(), 'corp', ttl).getToken()).toEqual({
      token: 'opaque-cached-tok',
      expiresAt: (nowS() + 1200) * 1000,
      origin: 'cache',
    });
    opaque(1750); // 50 s left: inside the skew
    expect((await createCommandTokenSource(context(), 'corp', ttl).getToken()).token).toBe('tok-after-ttl');
  });

  it('a malformed cache file is ignored with a warning and replaced', async () => {
    const file = cacheOf();
    const p = provider({ token_command: cmd('bare', 'tok-after-garbage') });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{ not json');
    expect((await createCommandTokenSource(context(), 'corp', p).getToken()).token).toBe('tok-after-garbage');
    expect(errText).toMatch(/ignoring the token cache .*not valid JSON/);
    expect(JSON.parse(readFileSync(file, 'utf8')).token).toBe('tok-after-garbage');
  });
});
