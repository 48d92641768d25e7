/**
 * `gatepass exec` and `gatepass env` through the built CLI, with command providers backed by small
 * node scripts, in a temp HOME.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { CLI, makeTempHome, ROOT, runGatepass, runProcess, type TempHome } from '../helpers/cli.js';
import { makeTestCa } from '../helpers/tls.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');

let t: TempHome;
let countFile: string;
beforeEach(() => {
  t = makeTempHome();
  countFile = path.join(t.home, 'count');
  t.env['FAKE_COUNT_FILE'] = countFile;
});
afterEach(() => t.cleanup());

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) => runGatepass(args, { env: { ...t.env, ...env } });
/**
 * Run the built CLI with `args` on a real terminal (a PTY made by `script`); `onOutput` sees each
 * chunk of the terminal's output and everything so far, and can type into it.
 */
async function atTerminal(
  args: string[],
  onOutput: (chunk: string, sofar: string, type: (keys: string) => void) => void,
): Promise<{ out: string; code: number | null }> {
  const line = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  // `exec`: script runs the line with $SHELL -c, and dash (CI's /bin/sh) does not exec a lone
  // command; a waiting dash that sees a Ctrl-C dies of it, which is not what is under test.
  const child = spawn('script', ['-qec', `exec ${line}`, '/dev/null'], {
    env: t.env,
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    onOutput(d, out, (keys) => child.stdin.write(keys));
  });
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { out, code };
}

const runs = () =>
  existsSync(countFile) ? readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean) : [];

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
    ...extra,
  ]);
  expect(r.stderr).toContain('Updated');
  expect(r.code).toBe(0);
}

const printEnv = [
  process.execPath,
  '-e',
  'process.stdout.write(JSON.stringify({t: process.env.GATEPASS_TOKEN, c: process.env.CORP_TOKEN, p: process.env.GATEPASS_PROVIDER, g: process.env.GATEPASS_GATEWAY_URL})); process.exit(7)',
];

describe('gatepass exec', () => {
  it('runs CMD with the token in GATEPASS_TOKEN and env_var, propagating its exit code', async () => {
    await addProvider('corp', cmd('bare', 'tok-exec-123456'), [
      '--env-var',
      'CORP_TOKEN',
      '--default-provider',
      'corp',
    ]);
    const r = await gp(['exec', '--', ...printEnv]);
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout)).toEqual({
      t: 'tok-exec-123456',
      c: 'tok-exec-123456',
      p: 'corp',
      g: 'https://corp.example.com',
    });
    // The token command's stderr reached the terminal; the token never did.
    expect(r.stderr).toContain('fake: fetching token');
    expect(r.stderr).not.toContain('tok-exec-123456');
  });

  it('the env var wins: no command runs', async () => {
    await addProvider('corp', cmd('bare', 'tok-cmd'), ['--env-var', 'CORP_TOKEN']);
    const r = await gp(['-p', 'corp', 'exec', '--', ...printEnv], { CORP_TOKEN: 'from-env-9876' });
    expect(JSON.parse(r.stdout).t).toBe('from-env-9876');
    // `exec --provider P -- CMD` (the option after the command) selects the provider too.
    const after = await gp(['exec', '--provider', 'corp', '--', ...printEnv], {
      CORP_TOKEN: 'from-env-5432',
    });
    expect(after.code, after.stderr).toBe(7);
    expect(JSON.parse(after.stdout)).toMatchObject({ t: 'from-env-5432', c: 'from-env-5432', p: 'corp' });
    expect(runs()).toEqual([]);
  });

  it('command not found → 127; missing command → usage error 2; unknown provider → 2', async () => {
    await addProvider('corp', cmd('bare', 'tok-x'), ['--default-provider', 'corp']);
    const nf = await gp(['exec', '--', 'no-such-command-gatepass-test']);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toMatch(/cannot run "no-such-command-gatepass-test": command not found/);
    expect((await gp(['exec'])).code).toBe(2);
    const unknown = await gp(['-p', 'nope', 'exec', '--', 'true']);
    expect(unknown.code).toBe(2); // a name the user gave: a usage error
    expect(unknown.stderr).toMatch(/no provider named "nope"/);
  });

  it('a failing token command: exit 1, its redacted stderr tail, never the secret', async () => {
    const secret = 'Sup3rS3cretT0ken-abcdef';
    await addProvider('corp', cmd('fail', secret), ['--default-provider', 'corp']);
    const r = await gp(['exec', '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gatepass: error: token_command of provider "corp" exited with code 3/);
    expect(r.stderr).toContain('the IdP said no');
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain(secret);
    const v = await gp(['-v', 'exec', '--', 'true']);
    expect(v.stderr).not.toContain(secret);
  });

  it('with tls.ca_file configured, a Node CMD trusts the gateway CA (NODE_EXTRA_CA_CERTS), as gatepass does', async () => {
    const ca = makeTestCa();
    const server = https.createServer(ca.server, (_req, res) => res.end('trusted'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      await addProvider('corp', cmd('bare', 'tok-ca'), [
        '--default-provider',
        'corp',
        '--ca-file',
        ca.caFile,
      ]);
      const fetchIt = [
        process.execPath,
        '-e',
        `require('https').get('https://127.0.0.1:${port}/', (r) => { r.pipe(process.stdout) }).on('error', (e) => { console.log('ERR ' + e.code); process.exit(3) })`,
      ];
      const r = await gp(['exec', '--', ...fetchIt], { NODE_EXTRA_CA_CERTS: '' });
      expect(r.stdout).toBe('trusted');
      expect(r.code).toBe(0);
      // Without gatepass' variable the same child does not trust the server: the test can fail.
      const bare = await runProcess(process.execPath, fetchIt.slice(1), {
        env: { ...t.env, NODE_EXTRA_CA_CERTS: '' },
      });
      expect(bare.stdout).toMatch(/^ERR /);
      // A bundle of the user's own is kept, joined with the gateway's CA.
      const theirs = makeTestCa();
      try {
        const joined = await gp(['exec', '--', ...fetchIt], { NODE_EXTRA_CA_CERTS: theirs.caFile });
        expect(joined.stdout).toBe('trusted');
        const printed = (await gp(['env'], { NODE_EXTRA_CA_CERTS: theirs.caFile })).stdout;
        const file = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(printed)?.[1];
        expect(file).not.toBe(ca.caFile);
        const text = readFileSync(file!, 'utf8');
        expect(text).toContain(readFileSync(theirs.caFile, 'utf8').trim().split('\n')[1]);
        expect(text).toContain(readFileSync(ca.caFile, 'utf8').trim().split('\n')[1]);
      } finally {
        theirs.cleanup();
      }
      // `gatepass env` prints it too.
      expect((await gp(['env'], { NODE_EXTRA_CA_CERTS: '' })).stdout).toContain(
        `export NODE_EXTRA_CA_CERTS=${ca.caFile}`,
      );
    } finally {
      await new Promise((r) => server.close(r));
      ca.cleanup();
    }
  });

  it('forwards SIGTERM to CMD and exits with its code', async () => {
    await addProvider('corp', cmd('bare', 'tok-sig'), ['--default-provider', 'corp']);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'exec',
        '--',
        process.execPath,
        '-e',
        "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42) }); console.log('ready'); setInterval(() => {}, 1000)",
      ],
      { env: t.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (d.includes('ready')) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(out).toContain('got SIGTERM');
    expect(code).toBe(42);
  });

  it('at a terminal, Ctrl-C reaches CMD once (not relayed a second time)', async () => {
    await addProvider('corp', cmd('bare', 'tok-tty'), ['--default-provider', 'corp']);
    const script =
      "let n = 0; process.on('SIGINT', () => { n++ }); console.log('ready'); setTimeout(() => { console.log('sigints=' + n); process.exit(5) }, 3000)";
    const { out, code } = await atTerminal(
      ['exec', '--', process.execPath, '-e', script],
      (chunk, _out, type) => {
        if (chunk.includes('ready')) type('\x03');
      },
    );
    expect(out).toContain('sigints=1');
    expect(code).toBe(5);
  });

  it('CMD killed by a signal: gatepass dies by the same signal', async () => {
    await addProvider('corp', cmd('bare', 'tok-sig'), ['--default-provider', 'corp']);
    const r = await gp(['exec', '--', process.execPath, '-e', "process.kill(process.pid, 'SIGKILL')"]);
    expect(r.signal).toBe('SIGKILL');
  });

  it('an interactive token_command reads the answer from the terminal (real PTY via script)', async () => {
    await addProvider('corp', cmd('interactive'), ['--default-provider', 'corp']);
    const { out, code } = await atTerminal(
      ['exec', '--', process.execPath, '-e', 'console.log("child got", process.env.GATEPASS_TOKEN)'],
      (_chunk, sofar, type) => {
        if (sofar.includes('Password: ') && !sofar.includes('hunter2')) type('hunter2\n');
      },
    );
    expect(out).toContain('child got hunter2-from-stdin');
    expect(out).toContain('stderr is a TTY');
    expect(code).toBe(0);
  });
});

describe('stopping gatepass while a token command runs', () => {
  it('SIGTERM kills the command and its children, then gatepass dies by SIGTERM', async () => {
    const pidFile = path.join(t.home, 'grandchild.pid');
    await addProvider('corp', cmd('slow', pidFile), ['--default-provider', 'corp']);
    const child = spawn(process.execPath, [CLI, 'env'], {
      env: t.env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('waiting forever')) child.kill('SIGTERM');
    });
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.on('close', (_c, s) => r(s)));
    expect(signal).toBe('SIGTERM');
    const gpid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 300));
    let alive = true;
    try {
      process.kill(gpid, 0);
      alive = !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${gpid}/stat`, 'utf8'));
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
  });
});

describe('misconfiguration', () => {
  it('a token command that calls gatepass for its own provider fails fast instead of deadlocking', async () => {
    const loop = [process.execPath, CLI, 'env', '-f', 'json'].map(shellQuote).join(' ');
    await addProvider('corp', loop, ['--default-provider', 'corp']);
    const started = Date.now();
    const r = await gp(['env']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/runs gatepass for the same provider \(a loop\)/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('gatepass env', () => {
  it('shell format evaluates in a real shell; dotenv and json formats', async () => {
    await addProvider('corp', cmd('bare', 'tok-$(id)&;|-1'), [
      '--env-var',
      'CORP_TOKEN',
      '--default-provider',
      'corp',
    ]);
    const r = await gp(['env']);
    expect(r.code).toBe(0);
    const sh = spawnSync('/bin/sh', ['-c', `${r.stdout}\nprintf '%s|%s' "$GATEPASS_TOKEN" "$CORP_TOKEN"`], {
      encoding: 'utf8',
    });
    expect(sh.stdout).toBe('tok-$(id)&;|-1|tok-$(id)&;|-1');
    expect((await gp(['env', '--format', 'dotenv'])).stdout).toContain("CORP_TOKEN='tok-$(id)&;|-1'");
    expect(JSON.parse((await gp(['env', '-f', 'json'])).stdout)).toMatchObject({
      GATEPASS_TOKEN: 'tok-$(id)&;|-1',
    });
    expect((await gp(['env', '-f', 'yaml'])).code).toBe(2);
    expect(runs()).toHaveLength(1);
  });

  it('dotenv output of a hostile gateway URL and token sources safely in bash; instrumentation-args refuses it', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, literally
    const token = 'tok-$(touch${IFS}PWNED);id|x&y';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, literally
    const url = 'https://corp.example.com/$(touch${IFS}PWNED)';
    await addProvider('corp', cmd('bare', token), ['--default-provider', 'corp']);
    const set = await gp(['-p', 'corp', 'config', 'set', '--gateway-url', url]);
    expect(set.code, set.stderr).toBe(0);
    const r = await gp(['env', '--format', 'dotenv']);
    expect(r.code, r.stderr).toBe(0);
    const sourced = spawnSync(
      'bash',
      [
        '-c',
        `set -a; source /dev/stdin <<'EOF_'\n${r.stdout}\nEOF_\nprintf '%s|%s' "$GATEPASS_TOKEN" "$GATEPASS_GATEWAY_URL"`,
      ],
      { cwd: t.home, encoding: 'utf8' },
    );
    expect(sourced.stdout).toBe(`${token}|${url}`);
    expect(existsSync(path.join(t.home, 'PWNED'))).toBe(false);
    const args = await gp(['env', '--format', 'instrumentation-args']);
    expect(args.code).toBe(1);
    expect(args.stdout).toBe('');
    expect(args.stderr).toMatch(
      /cannot write trailblaze\.llm\.auth\.token\.corp in instrumentation-args format/,
    );
    expect(args.stderr).not.toContain('touch');
  });

  it('instrumentation-args: every provider with a token, connection info of the selected one', async () => {
    await addProvider('corp', cmd('bare', 'tok-corp-1'), [
      '--api-type',
      'openai_compatible',
      '--chat-completions-path',
      '/v1/chat/completions',
    ]);
    await addProvider('other', cmd('bare', 'tok-other-2'));
    await addProvider('broken', cmd('fail', 'broken-secret-value'));
    const r = await gp(['-p', 'corp', 'env', '--format', 'instrumentation-args']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'trailblaze.llm.auth.token.corp=tok-corp-1',
      'trailblaze.llm.auth.token.other=tok-other-2',
      'trailblaze.llm.provider.type=openai_compatible',
      'trailblaze.llm.provider.base_url=https://corp.example.com',
      'trailblaze.llm.provider.chat_completions_path=/v1/chat/completions',
    ]);
    expect(r.stderr).toMatch(/warning: no token for provider "broken", left out/);
    expect(r.stderr).not.toContain('broken-secret-value');
  });

  it('12 concurrent exec/env processes run the token command exactly once', async () => {
    await addProvider('corp', cmd('bare', 'tok-once-42', '700'), ['--default-provider', 'corp']);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2
          ? gp(['env', '-f', 'json'])
          : gp(['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.GATEPASS_TOKEN)']),
      ),
    );
    for (const [i, r] of results.entries()) {
      expect(r.code, r.stderr).toBe(0);
      if (i % 2) expect(JSON.parse(r.stdout).GATEPASS_TOKEN).toBe('tok-once-42');
      else expect(r.stdout).toBe('tok-once-42');
    }
    expect(runs()).toHaveLength(1);
  });
});

describe('config for command providers', () => {
  it('every auth field can be set, validated, shown and unset', async () => {
    await addProvider('corp', 'corp-auth get-token', [
      '--env-var',
      'CORP_LLM_TOKEN',
      '--refresh-command',
      'corp-auth refresh',
      '--token-cache',
      '~/.corp/tokens/corp.json',
      '--token-ttl',
      '3600',
      '--timeout',
      '120',
      '--refresh-interval',
      '300',
    ]);
    const show = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(show.providers.corp).toMatchObject({
      type: 'command',
      configured: true,
      auth: {
        env_var: 'CORP_LLM_TOKEN',
        token_command: 'corp-auth get-token',
        refresh_command: 'corp-auth refresh',
        token_cache: '~/.corp/tokens/corp.json',
        token_ttl: 3600,
        timeout: 120,
        refresh_interval: 300,
      },
    });
    for (const [flag, value, re] of [
      ['--env-var', '1BAD', /not a valid environment variable name/],
      ['--token-ttl', '0', /whole number of seconds/],
      ['--timeout', 'ten', /must be a whole number/],
      ['--token-cache', 'relative/file.json', /absolute path/],
      ['--refresh-command', '  ', /non-empty command/],
    ] as const) {
      const r = await gp(['-p', 'corp', 'config', 'set', flag, value]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    const u = await gp([
      '-p',
      'corp',
      'config',
      'unset',
      'auth.env_var',
      'auth.refresh_command',
      'auth.token_cache',
      'auth.token_ttl',
      'auth.timeout',
      'auth.refresh_interval',
    ]);
    expect(u.code).toBe(0);
    expect(JSON.parse((await gp(['config', 'show', '--json'])).stdout).providers.corp.auth).toEqual({
      token_command: 'corp-auth get-token',
      timeout: 300, // the effective default is shown
    });
    // OIDC-only keys are refused for a command provider.
    expect((await gp(['-p', 'corp', 'config', 'set', '--issuer', 'https://sso.example.com'])).code).toBe(2);
  });
});

describe('home directory guard', () => {
  it('an empty or relative HOME never yields relative paths', async () => {
    for (const HOME of ['', 'relative-home']) {
      const r = await gp(['config', 'path'], { HOME });
      expect(r.code).toBe(0);
      expect(path.isAbsolute(r.stdout.trim())).toBe(true);
    }
  });
});
