/**
 * What gatepass' child processes can and cannot do, through the built CLI in a temp HOME: a timed-out
 * token_command leaves no process behind (even one ignoring SIGTERM), neither `exec` children nor
 * token / refresh commands inherit the env secret store's `GATEPASS_SECRET_*` variables, and a lock
 * whose holder was killed is taken over as soon as its owner is known to be gone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { withFileLock } from '../../src/util/lock.js';
import { CLI, makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runGatepass(args, { env: { ...t.env, ...env }, timeoutMs: 60_000 });

async function addProvider(name: string, tokenCommand: string, extra: string[] = []): Promise<void> {
  const r = await gp([
    '-p',
    name,
    'config',
    'set',
    '--type',
    'command',
    '--gateway-url',
    `https://${name}.example.com`,
    '--token-command',
    tokenCommand,
    '--default-provider',
    name,
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

/** Pids of live processes whose command line contains `needle` (from /proc, zombies excluded). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmdline.includes(needle) && state !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe.skipIf(process.platform !== 'linux')('token_command timeouts', () => {
  it('a child ignoring SIGTERM does not survive the timeout: the group gets SIGKILL after the grace period', async () => {
    // Unique durations (still "sleep 97" / "sleep 98"), so concurrent runs cannot be mistaken for ours.
    const tag = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    const ignoring = `sleep 97.${tag}`;
    const plain = `sleep 98.${tag}`;
    await addProvider('corp', `(trap '' TERM; exec ${ignoring}) & ${plain}`, ['--timeout', '1']);
    try {
      const r = await gp(['token']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/did not finish within 1 s and was stopped/);
      expect(r.stdout).toBe('');
      // Grace period 2 s + a generous margin for a loaded machine; with the old code the
      // TERM-ignoring sleep lived on for its 97 s.
      const deadline = Date.now() + 10_000;
      while (processesWith(ignoring).length + processesWith(plain).length && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(processesWith(ignoring)).toEqual([]);
      expect(processesWith(plain)).toEqual([]);
    } finally {
      for (const pid of [...processesWith(ignoring), ...processesWith(plain)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });
});

describe('GATEPASS_SECRET_* stay with gatepass', () => {
  const SECRETS = {
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_LLM_OAUTH_0123abcd: 'rt-of-another-provider-0123456789',
    GATEPASS_SECRET_LLM_OAUTH_0123abcd_AT: 'at-of-another-provider-0123456789',
  };
  const listSecrets =
    "process.stdout.write(JSON.stringify(Object.keys(process.env).filter((k) => k.startsWith('GATEPASS_SECRET_') && k !== 'GATEPASS_SECRET_STORE')))";

  it("neither an `exec` child nor the token command inherits the env store's variables", async () => {
    // The token command fails (exit 3, its stderr in the error) if it sees any of them.
    const probe = `if env | grep '^GATEPASS_SECRET_LLM' >&2; then exit 3; fi; ${cmd('bare', 'tok-hygiene-1234')}`;
    await addProvider('corp', probe);
    const r = await gp(['exec', '--', process.execPath, '-e', listSecrets], SECRETS);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr).not.toContain('rt-of-another-provider');
    // What the child needs it still gets.
    const token = await gp(
      ['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.GATEPASS_TOKEN)'],
      SECRETS,
    );
    expect(token.stdout).toBe('tok-hygiene-1234');
  });

  it('a refresh_command gets its own refresh token, not the env store', async () => {
    await addProvider('corp', cmd('bare', 'tok-fallback-1234'), [
      '--refresh-command',
      `if env | grep '^GATEPASS_SECRET_LLM' >&2; then exit 3; fi; test "$GATEPASS_REFRESH_TOKEN" = rt-own-98765432 || exit 4; ${cmd('bare', 'tok-refreshed-1234')}`,
    ]);
    // A cached token fetched an hour ago with 30 s left (inside the 60 s skew), and its refresh token.
    const cache = path.join(t.home, '.cache/gatepass/tokens/corp.json');
    mkdirSync(path.dirname(cache), { recursive: true, mode: 0o700 });
    const exp = Math.floor(Date.now() / 1000) + 30;
    writeFileSync(
      cache,
      JSON.stringify({ token: 'tok-old-1234', expires_at: exp, refresh_token: 'rt-own-98765432' }),
      {
        mode: 0o600,
      },
    );
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(cache, hourAgo, hourAgo);
    const r = await gp(['token'], SECRETS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout, r.stderr).toBe('tok-refreshed-1234\n');
  });
});

describe.skipIf(process.platform === 'win32')('a lock whose holder was killed', () => {
  it('is taken over at once when its owner pid is gone on this host (not after the 10 s stale period)', async () => {
    const tag = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    const sleeper = `sleep 60.${tag}`;
    await addProvider('corp', `exec ${sleeper}`, ['--timeout', '120']);
    const cache = path.join(t.home, '.cache/gatepass/tokens/corp.json');
    const owner = path.join(`${cache}.lock`, 'owner');
    const holder = spawn(process.execPath, [CLI, 'token'], { env: t.env, stdio: 'ignore' });
    try {
      const deadline = Date.now() + 30_000;
      while (!existsSync(owner) || processesWith(sleeper).length === 0) {
        if (Date.now() > deadline) throw new Error('the token command never started under the lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(JSON.parse(readFileSync(owner, 'utf8'))).toMatchObject({ pid: holder.pid, host: hostname() });
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect(existsSync(`${cache}.lock`)).toBe(true);
      const started = Date.now();
      const got = await withFileLock(cache, async () => Date.now() - started, { waitMs: 30_000 });
      // The old rule (stale 10 s after the last heartbeat, refreshed every 5 s) took 5–10 s; the
      // owner check takes milliseconds. 4 s leaves room for a loaded machine.
      expect(got).toBeLessThan(4_000);
      expect(existsSync(`${cache}.lock`)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      for (const pid of processesWith(sleeper)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a live holder keeps its lock: the waiter waits for the release', async () => {
    const file = path.join(t.home, 'state.json');
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = withFileLock(file, () => held);
    await new Promise((r) => setTimeout(r, 200));
    let second = false;
    const waiter = withFileLock(file, async () => {
      second = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(second).toBe(false);
    release();
    await first;
    await waiter;
    expect(second).toBe(true);
  });
});

describe('a lock held past its heartbeats', () => {
  it('stays ours (heartbeats keep working with the owner record) and is removed at release', async () => {
    const file = path.join(t.home, 'long.json');
    let compromisedTakeover = false;
    // staleMs 2 s: heartbeats every second; held for 3.5 s.
    await withFileLock(
      file,
      async () => {
        await new Promise((r) => setTimeout(r, 3500));
        // A waiter with a short budget must not get in while we hold it.
        await withFileLock(file, async () => {}, { staleMs: 2000, waitMs: 300 }).then(
          () => {
            compromisedTakeover = true;
          },
          () => {},
        );
      },
      { staleMs: 2000 },
    );
    expect(compromisedTakeover).toBe(false);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
