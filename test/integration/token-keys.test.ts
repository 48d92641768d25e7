/**
 * OIDC tokens are keyed by everything that makes them different (gateway, issuer, client id,
 * audience, scopes), and tokens stored under the key of older versions (gateway + issuer) are moved
 * to the new key once, not orphaned. Real built CLI, file secret store in a temp HOME.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import YAML from 'yaml';
import { legacyOidcSecretKey, oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';

let t: TempHome;
beforeEach(() => {
  t = makeTempHome({ GATEPASS_SECRET_STORE: 'file', GATEPASS_INTERACTIVE: '0' });
});
afterEach(() => t.cleanup());

const secretsDir = () => path.join(t.home, '.local/share/gatepass/secrets');
const gp = (args: string[], env: NodeJS.ProcessEnv = {}) => runGatepass(args, { env: { ...t.env, ...env } });

function storeTokens(key: string, access: string, refresh?: string): void {
  mkdirSync(secretsDir(), { recursive: true, mode: 0o700 });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  writeFileSync(
    path.join(secretsDir(), `${key}_AT`),
    JSON.stringify({ access_token: access, expires_at: exp }),
    {
      mode: 0o600,
    },
  );
  if (refresh) writeFileSync(path.join(secretsDir(), key), refresh, { mode: 0o600 });
}

async function configure(provider: string, ...extra: string[]): Promise<void> {
  const r = await gp([
    'config',
    'set',
    '--provider',
    provider,
    '--gateway-url',
    GATEWAY,
    '--issuer',
    ISSUER,
    '--client-id',
    'gatepass',
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

it('two providers differing only in their audience do not share tokens', async () => {
  await configure('a', '--audience', 'api://gateway-a');
  await configure('b', '--audience', 'api://gateway-b');
  const keyA = oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass', audience: 'api://gateway-a' });
  storeTokens(keyA, 'access-token-of-a');
  for (const fast of ['1', '0']) {
    const a = await gp(['--provider', 'a', 'token'], { GATEPASS_TOKEN_FAST_PATH: fast });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe('access-token-of-a\n');
    const b = await gp(['--provider', 'b', 'token'], { GATEPASS_TOKEN_FAST_PATH: fast });
    expect(b.stdout).toBe('');
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/authentication required: run `gatepass login --provider b`/);
  }
});

it('tokens stored under the old key are moved to the new one once, and the old key is removed', async () => {
  await configure('default');
  const legacy = legacyOidcSecretKey(GATEWAY, ISSUER);
  const key = oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass' });
  expect(key).not.toBe(legacy);
  storeTokens(legacy, 'access-token-from-before', 'refresh-token-from-before');
  // An upgraded config still names the old key in its token_ref.
  const cfg = YAML.parse(readFileSync(t.configFile, 'utf8'));
  cfg.providers.default.token_ref = { secret_key: legacy, expires_at: Math.floor(Date.now() / 1000) + 3600 };
  writeFileSync(t.configFile, YAML.stringify(cfg), { mode: 0o600 });

  const first = await gp(['token']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toBe('access-token-from-before\n');
  expect(readFileSync(path.join(secretsDir(), key), 'utf8')).toBe('refresh-token-from-before');
  expect(existsSync(path.join(secretsDir(), `${key}_AT`))).toBe(true);
  expect(existsSync(path.join(secretsDir(), legacy))).toBe(false);
  expect(existsSync(path.join(secretsDir(), `${legacy}_AT`))).toBe(false);
  expect(YAML.parse(readFileSync(t.configFile, 'utf8')).providers.default.token_ref.secret_key).toBe(key);

  // Later calls (the fast path too) find the token under the new key.
  for (const fast of ['1', '0']) {
    const again = await gp(['token'], { GATEPASS_TOKEN_FAST_PATH: fast });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('access-token-from-before\n');
  }
  // Status agrees: logged in.
  const st = await gp(['status', '--json']);
  expect(JSON.parse(st.stdout).providers[0].logged_in).toBe(true);
});
