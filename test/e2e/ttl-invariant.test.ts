/**
 * The TTL invariant end to end: tools re-run their helper every 5 min (Claude Code's
 * CLAUDE_CODE_API_KEY_HELPER_TTL_MS, Codex's refresh_interval_ms), and the helper command gatepass
 * writes (`gatepass token --min-valid 600`) never hands out a token with less than 10 min left. Run
 * exactly as written into the tools' configs, against the real IdP (1-hour tokens).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { loggedInOidcHome, type OidcHome } from '../helpers/oidc-home.js';

let idp: TestIdp;
let hook: BrowserHook;
let home: OidcHome;

beforeAll(async () => {
  idp = await startTestIdp();
  hook = await startBrowserHook();
  home = await loggedInOidcHome(idp, hook, { GATEPASS_INTERACTIVE: '0' });
  mkdirSync(path.join(home.home, '.claude'));
  mkdirSync(path.join(home.home, '.codex'));
  const r = await runGatepass(['setup', '--tools', 'claude,codex', '--lazy'], { env: home.env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  home?.cleanup();
  await hook?.close();
  await idp?.close();
});

function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Make the cached 1-hour access token look `leftMin` minutes from expiry. */
function setCached(leftMin: number): string {
  const file = path.join(home.secretsDir, `${home.secretKey()}_AT`);
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { access_token: string };
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    file,
    JSON.stringify({
      access_token: rec.access_token,
      expires_at: now + leftMin * 60,
      issued_at: now + leftMin * 60 - 3600,
    }),
    { mode: 0o600 },
  );
  return rec.access_token;
}

it('the tools re-run the helper every 5 min and it refreshes below 10 min left, not above', async () => {
  const settings = JSON.parse(readFileSync(path.join(home.home, '.claude/settings.json'), 'utf8'));
  expect(settings.env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS).toBe('300000');
  const claudeHelper = (settings.apiKeyHelper as string).split(' ');
  const codex = TOML.parse(readFileSync(path.join(home.home, '.codex/config.toml'), 'utf8')) as {
    model_providers: { gatepass: { auth: { command: string; args: string[]; refresh_interval_ms: number } } };
  };
  const auth = codex.model_providers.gatepass.auth;
  expect(auth.refresh_interval_ms).toBe(300_000);
  const codexHelper = [auth.command, ...auth.args];
  expect(codexHelper.slice(-3)).toEqual(['token', '--min-valid', '600']);
  expect(claudeHelper.slice(-3)).toEqual(['token', '--min-valid', '600']);

  for (const helper of [claudeHelper, codexHelper]) {
    // 11 min left: served from the cache, no grant.
    let cachedToken = setCached(11);
    let grants = idp.grantCount('refresh_token');
    let r = await run(helper);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${cachedToken}\n`);
    expect(idp.grantCount('refresh_token')).toBe(grants);

    // 9 min left: refreshed, a new token.
    cachedToken = setCached(9);
    grants = idp.grantCount('refresh_token');
    r = await run(helper);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^eyJ[\w.-]+\n$/);
    expect(r.stdout).not.toBe(`${cachedToken}\n`);
    expect(idp.grantCount('refresh_token')).toBe(grants + 1);
  }
});
