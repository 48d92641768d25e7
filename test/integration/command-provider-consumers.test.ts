/**
 * The consumers of tokens — `gatepass setup`, `gatepass token --provider`, `gatepass proxy` — with a
 * command provider, through the built CLI: a real token command (a small node script), a real cache
 * file, and a fake gateway on loopback that records the bearer it receives.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { resolvePaths } from '../../src/config/paths.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { LAZY_COMMAND_MESSAGE } from '../../src/setup/setup.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeGateway, startFakeGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const cmd = (...args: string[]) => [process.execPath, FAKE, ...args].map(shellQuote).join(' ');
const KEY = generateLocalProxyKey();

let gw: FakeGateway;
let t: TempHome;
let countFile: string;

beforeAll(async () => {
  // No JWKS: the gateway records the raw bearer as the request's subject.
  gw = await startFakeGateway();
});
afterAll(async () => {
  await gw.close();
});
beforeEach(() => {
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'env',
    GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: KEY,
  });
  countFile = path.join(t.home, 'count');
  t.env['FAKE_COUNT_FILE'] = countFile;
  mkdirSync(path.join(t.home, '.claude'));
});
afterEach(async () => {
  await runGatepass(['proxy', 'stop'], { env: t.env });
  t.cleanup();
});

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) => runGatepass(args, { env: { ...t.env, ...env } });
const runs = () =>
  existsSync(countFile) ? readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean) : [];
const claudeSettings = () => path.join(t.home, '.claude/settings.json');

async function configure(...flags: string[]): Promise<void> {
  const r = await gp([
    '-p',
    'corp',
    'config',
    'set',
    '--type',
    'command',
    '--gateway-url',
    gw.url,
    // No layout probe: the fake gateway serves both APIs at its root.
    '--anthropic-path-prefix',
    '',
    '--openai-path-prefix',
    '',
    '--default-provider',
    'corp',
    ...flags,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

describe('setup with a command provider', () => {
  it('runs token_command once to sign in; `gatepass token --provider` then serves its cached token', async () => {
    await configure('--token-command', cmd('bare', 'tok-setup-123456'));
    const r = await gp(['setup', '--tools', 'claude']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('fake: fetching token'); // the command's stderr reached the user
    expect(r.stderr).toContain('Signed in.');
    expect(r.stderr).not.toContain('tok-setup-123456');
    expect(JSON.parse(readFileSync(claudeSettings(), 'utf8')).apiKeyHelper).toMatch(
      / token --min-valid 600$/,
    );
    expect(runs()).toHaveLength(1);
    const cache = path.join(resolvePaths({ env: t.env }).cacheDir, 'tokens', 'corp.json');
    expect(JSON.parse(readFileSync(cache, 'utf8')).token).toBe('tok-setup-123456');
    // What Claude Code's apiKeyHelper runs.
    const tok = await gp(['token', '--provider', 'corp', '--min-valid', '60']);
    expect(tok.code, tok.stderr).toBe(0);
    expect(tok.stdout).toBe('tok-setup-123456\n');
    expect(runs()).toHaveLength(1);
  });

  it('--lazy runs nothing and says the command runs on first use', async () => {
    await configure('--token-command', cmd('bare', 'tok-lazy'));
    const r = await gp(['setup', '--tools', 'claude', '--lazy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(LAZY_COMMAND_MESSAGE);
    expect(runs()).toEqual([]);
    expect((await gp(['token'])).stdout).toBe('tok-lazy\n');
  });

  it('env_var only: setup succeeds whether or not the variable is set here; a value that is no token is refused', async () => {
    await configure('--env-var', 'CORP_LLM_TOKEN');
    const unset = await gp(['setup', '--tools', 'claude']);
    expect(unset.code, unset.stderr).toBe(0);
    expect(unset.stderr).toMatch(/warning: .*CORP_LLM_TOKEN, which is not set here/);
    expect(existsSync(claudeSettings())).toBe(true);

    const set = await gp(['setup', '--tools', 'claude'], { CORP_LLM_TOKEN: 'tok-from-env-1234' });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toMatch(/environment variable CORP_LLM_TOKEN, which is set/);
    expect(set.stderr).not.toContain('tok-from-env-1234');

    await gp(['teardown']);
    expect(existsSync(claudeSettings())).toBe(false);
    const bad = await gp(['setup', '--tools', 'claude'], { CORP_LLM_TOKEN: 'two words' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/CORP_LLM_TOKEN .* characters a token may not hold/);
    expect(existsSync(claudeSettings())).toBe(false); // rolled back
  });
});

describe('gatepass proxy with a command provider', () => {
  it('injects the token_command token, and renews it every auth.refresh_interval in the background', async () => {
    await configure('--token-command', cmd('counter', 'tok-run'), '--refresh-interval', '2');
    const port = await freePort();
    const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
    expect(start.code, start.stderr).toBe(0);
    const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const ask = async () => {
      const r = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(r.choices[0]!.message.content).toBe('echo: hi');
      return gw.requests.at(-1)!.subject;
    };
    expect(await ask()).toBe('tok-run-1');
    expect(await ask()).toBe('tok-run-1'); // reused, not fetched per request
    expect(runs()).toHaveLength(1);
    // No request for a while: the proxy renews on its own once the interval is over.
    const deadline = Date.now() + 20_000;
    while (runs().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(runs().length).toBeGreaterThanOrEqual(2);
    const renewed = await ask();
    expect(renewed).toMatch(/^tok-run-\d+$/);
    expect(renewed).not.toBe('tok-run-1');
    const log = readFileSync(path.join(resolvePaths({ env: t.env }).stateDir, 'proxy.log'), 'utf8');
    expect(log).not.toMatch(/tok-run-\d/);
  });
});
