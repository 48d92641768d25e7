/**
 * `--skip-browser` on login, token, setup and proxy start, with the built CLI and the real IdP: the
 * authorization URL is printed on stderr, the browser command (a passive hook recording every call)
 * is never run, and the command waits for the callback — which the test completes by driving the
 * headless browser to the printed URL, as a user on another machine (SSH) would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { gatepassArgv, ROOT } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { configureOidcHome, type OidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';

let idp: TestIdp;
/** Passive: records what gatepass asks it to open, opens nothing. */
let hook: BrowserHook;
let gw: FakeGateway;
const homes: OidcHome[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook({ passive: true, login: 'sam' });
  gw = await startFakeGateway({ jwksUrl: idp.jwksUri, issuer: idp.issuer });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const h of homes) h.cleanup();
  await gw?.close();
  await hook?.close();
  await idp?.close();
});

let home: OidcHome;
beforeEach(async () => {
  // A display is present: without --skip-browser gatepass would run the (hook) browser command.
  home = await configureOidcHome(idp, hook, { DISPLAY: ':0' });
  homes.push(home);
});

interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** The authorization URL printed on stderr. */
  url: Promise<string>;
  exit: Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(...gatepassArgv(args), {
    env: home.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  let stdout = '';
  let onUrl: (u: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    onUrl = resolve;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m.exec(stderr);
    if (m) onUrl(m[1]!);
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => stderr, stdout: () => stdout, url, exit };
}

async function completeLogin(run: Running): Promise<void> {
  const url = await run.url;
  expect(run.stderr()).toContain('open this URL in a browser');
  const page = await hook.visit(url);
  expect(page).toMatch(/logged in|you can close/i);
}

describe('--skip-browser prints the URL, never opens a browser, and waits for the callback', () => {
  it('login', async () => {
    const run = start(['login', '--skip-browser']);
    await completeLogin(run);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(readFileSync(home.configFile, 'utf8')).toMatch(/token_ref/);
    expect(hook.urls()).toEqual([]);
  });

  it('token (without --interactive: --skip-browser asks for the headless login)', async () => {
    const run = start(['token', '--skip-browser']);
    await completeLogin(run);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(run.stdout()).toMatch(/^eyJ[\w.-]+\n$/);
    expect(hook.urls()).toEqual([]);
  });

  it('setup', async () => {
    mkdirSync(path.join(home.home, '.claude'));
    const run = start(['setup', '--tools', 'claude', '--skip-browser']);
    await completeLogin(run);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(run.stderr()).toContain('Signed in.');
    expect(readFileSync(path.join(home.home, '.claude/settings.json'), 'utf8')).toContain('apiKeyHelper');
    expect(hook.urls()).toEqual([]);
  });

  it('setup interrupted (Ctrl-C) while it waits for the login has changed nothing', async () => {
    const claudeText = '{\n  // mine\n  "model": "opus"\n}\n';
    const settings = path.join(home.home, '.claude/settings.json');
    mkdirSync(path.dirname(settings));
    writeFileSync(settings, claudeText);
    const configBefore = readFileSync(home.configFile, 'utf8');
    const run = start([
      'setup',
      '--tools',
      'claude',
      '--skip-browser',
      '--models',
      'claude-sonnet-4-5',
      '--anthropic-path-prefix',
      '',
    ]);
    await run.url;
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code === 0, run.stderr()).toBe(false);
    expect(readFileSync(settings, 'utf8')).toBe(claudeText);
    expect(readFileSync(home.configFile, 'utf8')).toBe(configBefore);
    expect(existsSync(path.join(home.home, '.local/share/gatepass/tool-backups.json'))).toBe(false);
    expect(hook.urls()).toEqual([]);
  });

  it('proxy start (the first request triggers the login)', async () => {
    const port = await freePort();
    const set = start(['config', 'set', '--gateway-url', gw.url]);
    expect(await set.exit, set.stderr()).toBe(0);
    const run = start(['proxy', 'start', '--port', String(port), '--skip-browser']);
    const key = await (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          return readFileSync(path.join(home.secretsDir, 'GATEPASS_LOCAL_PROXY_KEY'), 'utf8').trim();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error('no local proxy key');
    })();
    for (let i = 0; i < 100 && !run.stderr().includes('listening'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const response = fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'headless' }] }),
    });
    await completeLogin(run);
    const res = await response;
    expect(res.status).toBe(200);
    expect(gw.requests.at(-1)?.subject).toBe('sam');
    expect(hook.urls()).toEqual([]);
    run.child.kill('SIGTERM');
    const code = await run.exit;
    expect(code, `${run.child.signalCode} ${run.stderr()}`).toBe(0);
  });
});
