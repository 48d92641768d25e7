/**
 * Issue #5's lazy-setup acceptance with real parts, on `gatepass token` itself (claude-lazy-oidc
 * covers the same through Claude Code): in one temp HOME whose Claude Code and Codex files carry
 * comments and unrelated keys,
 *  1. a normal setup signs in through the real IdP (oidc-provider) in headless Chromium; status
 *     shows the login and the wiring but never a token; teardown restores both files byte for byte,
 *     deletes the cached tokens and forgets token_ref;
 *  2. a lazy setup opens no browser and caches nothing, and writes the very same tool files and
 *     config as the normal one (apart from the login's token_ref);
 *  3. the first `gatepass token` (stdin not a TTY, as when a tool spawns it) runs the browser login
 *     and prints a fresh JWT the IdP signed; the next call prints a token without a login.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import YAML from 'yaml';
import { LAZY_MESSAGE } from '../../src/setup/setup.js';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { oidcSetupFlags } from '../helpers/tool-e2e.js';

let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let t: TempHome;
beforeAll(async () => {
  [idp, hook, fake] = await Promise.all([startTestIdp(), startBrowserHook(), startFakeLlm()]);
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', ...hook.env });
});
afterAll(async () => {
  await fake?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

const CLAUDE = '.claude/settings.json';
const CODEX = '.codex/config.toml';
const ORIGINAL: Record<string, string> = {
  [CLAUDE]: '{\n  // my Claude settings\n  "model": "opus", // favourite\n  "env": { "FOO": "bar" }\n}\n',
  [CODEX]:
    '# my Codex settings\nmodel_provider = "openai" # the default\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n',
};
const read = (rel: string) => readFileSync(path.join(t.home, rel), 'utf8');
const secretsDir = () => path.join(t.home, '.local/share/gatepass/secrets');
const cachedSecrets = () => (existsSync(secretsDir()) ? readdirSync(secretsDir()) : []);
const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });

/**
 * The persisted config without the login state (which only a normal setup has) and the model
 * discovery a lazy setup leaves to the first token.
 */
function withoutLogin(text: string): unknown {
  const cfg = YAML.parse(text) as {
    providers: Record<string, { token_ref?: unknown; models_pending?: unknown }>;
  };
  for (const p of Object.values(cfg.providers)) {
    delete p.token_ref;
    delete p.models_pending;
  }
  return cfg;
}

it('lazy setup = normal setup minus the login; the first gatepass token signs in, the next does not', async () => {
  for (const [rel, text] of Object.entries(ORIGINAL)) {
    mkdirSync(path.dirname(path.join(t.home, rel)), { recursive: true });
    writeFileSync(path.join(t.home, rel), text);
  }
  const flags = [...(await oidcSetupFlags(fake.url, idp, 'claude,codex'))];

  // 1. Normal setup: wires both tools and signs in.
  const normal = await gp(['setup', ...flags]);
  expect(normal.code, normal.stderr).toBe(0);
  await hook.waitForLogins(1, 10_000);
  const normalFiles = [read(CLAUDE), read(CODEX)];
  const normalConfig = readFileSync(t.configFile, 'utf8');
  expect(normalConfig).toMatch(/token_ref:/);
  expect(cachedSecrets().length).toBeGreaterThan(0);
  const cfg = YAML.parse(normalConfig);
  expect(cfg.configured_tools).toEqual([
    expect.objectContaining({ tool: 'claude', mode: 'direct', config_path: path.join(t.home, CLAUDE) }),
    expect.objectContaining({ tool: 'codex', mode: 'direct', config_path: path.join(t.home, CODEX) }),
  ]);

  // status --json: login state and expiry, each tool wired, and no secret anywhere in it.
  const status = await gp(['status', '--json']);
  expect(status.code, status.stderr).toBe(0);
  const st = JSON.parse(status.stdout);
  expect(st.providers[0]).toMatchObject({ type: 'oidc', logged_in: true, token_expired: false });
  expect(Date.parse(st.providers[0].token_expires_at)).toBeGreaterThan(Date.now());
  expect(st.tools.map((x: { tool: string; state: string }) => [x.tool, x.state])).toEqual([
    ['claude', 'wired'],
    ['codex', 'wired'],
  ]);
  for (const f of cachedSecrets()) {
    const raw = readFileSync(path.join(secretsDir(), f), 'utf8').trim();
    let values: string[] = [raw];
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed && typeof parsed === 'object') {
        values = Object.values(parsed).filter((v): v is string => typeof v === 'string' && v.length > 16);
      }
    } catch {
      // a bare secret
    }
    for (const v of values) expect(status.stdout).not.toContain(v);
  }

  // Teardown: files back byte for byte, cached tokens and token_ref gone.
  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  for (const [rel, text] of Object.entries(ORIGINAL)) expect(read(rel)).toBe(text);
  expect(cachedSecrets()).toEqual([]);
  expect(readFileSync(t.configFile, 'utf8')).not.toMatch(/token_ref/);

  // 2. Lazy setup from the same starting point: no browser, no token, the same files and config.
  rmSync(t.configFile);
  const lazy = await gp(['setup', ...flags, '--lazy']);
  expect(lazy.code, lazy.stderr).toBe(0);
  expect(lazy.stdout).toBe('');
  expect(lazy.stderr).toContain(LAZY_MESSAGE);
  expect(hook.logins()).toBe(1);
  expect(hook.urls()).toHaveLength(1);
  expect(cachedSecrets()).toEqual([]);
  const lazyConfig = readFileSync(t.configFile, 'utf8');
  expect(lazyConfig).not.toMatch(/token_ref/);
  expect([read(CLAUDE), read(CODEX)]).toEqual(normalFiles);
  expect(withoutLogin(lazyConfig)).toEqual(withoutLogin(normalConfig));

  // 3. The first `gatepass token` (stdin closed: no TTY) runs the browser login, prints a fresh JWT.
  const started = Math.floor(Date.now() / 1000);
  const first = await gp(['token']);
  expect(first.code, first.stderr).toBe(0);
  await hook.waitForLogins(2, 10_000);
  expect(first.stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const token = first.stdout.trim();
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), {
    issuer: idp.issuer,
  });
  expect(payload.aud).toContain(idp.audience);
  expect(payload.iat).toBeGreaterThanOrEqual(started - 5);
  expect(readFileSync(t.configFile, 'utf8')).toMatch(/token_ref:/);

  // The next call is served from the cache: no browser, no login URL on stderr.
  const second = await gp(['token']);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stdout).toBe(`${token}\n`);
  expect(second.stderr).not.toContain(idp.issuer);
  expect(hook.logins()).toBe(2);
  expect(hook.urls()).toHaveLength(2);
});
