/**
 * A temp HOME configured for the test IdP, with secrets in the file store, optionally logged in
 * through the headless browser. Shared by the OIDC integration tests (and reusable by proxy/tools).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserHook } from './browser.js';
import { makeTempHome, runGatepass, type TempHome } from './cli.js';
import type { TestIdp } from './idp.js';
import { freePort } from './ports.js';

export const TEST_GATEWAY_URL = 'https://gateway.example.test';

export interface OidcHome extends TempHome {
  /** Directory of the file secret store. */
  secretsDir: string;
  /** Secret key of the provider's refresh token (`LLM_OAUTH_xxxxxxxx`). */
  secretKey(): string;
  /** Make the cached access token look expired (file store only). */
  expireCachedToken(): void;
}

export async function configureOidcHome(
  idp: TestIdp,
  hook: BrowserHook | undefined,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<OidcHome> {
  const home = makeTempHome({ GATEPASS_SECRET_STORE: 'file', ...(hook?.env ?? {}), ...extraEnv });
  const port = await freePort();
  const r = await runGatepass(
    [
      'config',
      'set',
      '--gateway-url',
      TEST_GATEWAY_URL,
      '--issuer',
      idp.issuer,
      '--client-id',
      idp.clientId,
      '--callback-port',
      String(port),
    ],
    { env: home.env },
  );
  if (r.code !== 0) throw new Error(`config set failed: ${r.stderr}`);
  const secretsDir = path.join(home.home, '.local/share/gatepass/secrets');
  const secretKey = () => {
    const m = /secret_key: (LLM_OAUTH_[0-9a-f]{8})/.exec(readFileSync(home.configFile, 'utf8'));
    if (!m) throw new Error('not logged in: no token_ref in the config');
    return m[1]!;
  };
  return {
    ...home,
    secretsDir,
    secretKey,
    expireCachedToken() {
      const file = path.join(secretsDir, `${secretKey()}_AT`);
      const rec = JSON.parse(readFileSync(file, 'utf8')) as { access_token: string; expires_at?: number };
      rec.expires_at = Math.floor(Date.now() / 1000) - 10;
      writeFileSync(file, JSON.stringify(rec), { mode: 0o600 });
    },
  };
}

/** Configure and log in through the browser hook. */
export async function loggedInOidcHome(
  idp: TestIdp,
  hook: BrowserHook,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<OidcHome> {
  const home = await configureOidcHome(idp, hook, extraEnv);
  const r = await runGatepass(['login'], { env: home.env, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`login failed: ${r.stderr}`);
  return home;
}
