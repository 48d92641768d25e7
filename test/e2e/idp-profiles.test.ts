/**
 * One test per IdP recipe in docs/idps.md: the real oidc-provider configured to behave like that IdP
 * (issuer with a tenant/realm path, offline_access refused, refresh tokens only with
 * access_type=offline, a client secret with client_secret_post or _basic, opaque access tokens,
 * rotating or static refresh tokens, no revocation endpoint, a localhost-only redirect URI), and
 * gatepass configured with the recipe's keys. Each runs the login in real headless Chromium, a
 * refresh, and a gateway call that the fake gateway verifies against the IdP's JWKS.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { startFakeGateway } from '../helpers/gateway.js';
import { startTestIdp, type TestIdp, type TestIdpOptions } from '../helpers/idp.js';
import { configureOidcHome } from '../helpers/oidc-home.js';

interface Profile {
  /** The docs/idps.md recipe it backs. */
  name: string;
  idp: TestIdpOptions;
  /** `gatepass config set` arguments of the recipe. */
  config: string[];
  /** Client secret, given through --client-secret-stdin. */
  secret?: string;
  /** Which token the gateway gets. */
  token: 'access_token' | 'id_token';
  rotates: boolean;
  /** Recipe-specific checks of the authorization request and the IdP's state. */
  check(auth: URLSearchParams, idp: TestIdp): void;
}

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const PROFILES: Profile[] = [
  {
    name: 'Entra ID (v2 endpoint)',
    idp: {
      issuerPath: `/${TENANT}/v2.0`,
      redirectUris: ['http://localhost/callback'],
      revocation: false,
      scopes: ['openid', 'profile', 'email', 'offline_access', 'api://gatepass-gw/.default'],
    },
    config: [
      '--scopes',
      'openid profile offline_access api://gatepass-gw/.default',
      '--redirect-host',
      'localhost',
      '--callback-port',
      '0',
      '--auth-params',
      'domain_hint=corp.example.com',
    ],
    token: 'access_token',
    rotates: true,
    check(auth) {
      expect(auth.get('redirect_uri')).toMatch(/^http:\/\/localhost:\d+\/callback$/);
      expect(auth.get('scope')!.split(' ')).toContain('api://gatepass-gw/.default');
      expect(auth.get('domain_hint')).toBe('corp.example.com');
    },
  },
  {
    name: 'Google Workspace (desktop client, ID token for IAP)',
    idp: {
      scopes: ['openid', 'email', 'profile'],
      rejectScopes: ['offline_access'],
      refreshTokenOnlyWith: { name: 'access_type', value: 'offline' },
      clientSecret: { secret: 'GOCSPX-gatepass-test-secret', method: 'client_secret_post' },
      accessTokenFormat: 'opaque',
      rotateRefreshToken: false,
    },
    config: [
      '--auth-params',
      'access_type=offline&prompt=consent',
      '--gateway-token',
      'id_token',
      '--callback-port',
      '0',
    ],
    secret: 'GOCSPX-gatepass-test-secret',
    token: 'id_token',
    rotates: false,
    check(auth) {
      expect(auth.get('scope')!.split(' ')).not.toContain('offline_access');
      expect(auth.get('access_type')).toBe('offline');
      expect(auth.get('prompt')).toBe('consent');
      expect(auth.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    },
  },
  {
    name: 'Okta (custom authorization server)',
    idp: { issuerPath: '/oauth2/default' },
    config: ['--auth-params', 'idp=0oa1corpsaml'],
    token: 'access_token',
    rotates: true,
    check(auth) {
      expect(auth.get('scope')!.split(' ')).toContain('offline_access');
      expect(auth.get('idp')).toBe('0oa1corpsaml');
    },
  },
  {
    name: 'Keycloak (confidential client)',
    idp: {
      issuerPath: '/realms/corp',
      clientSecret: { secret: 'kc-gatepass-secret-0123', method: 'client_secret_basic' },
      rotateRefreshToken: false,
    },
    config: ['--scopes', 'openid profile email'],
    secret: 'kc-gatepass-secret-0123',
    token: 'access_token',
    rotates: false,
    check(auth) {
      expect(auth.get('scope')).toBe('openid profile email');
    },
  },
  {
    name: 'Auth0 (API audience)',
    idp: {},
    config: ['--audience', 'https://llm-gateway.example.com'],
    token: 'access_token',
    rotates: true,
    check(auth) {
      expect(auth.get('audience')).toBe('https://llm-gateway.example.com');
    },
  },
  {
    name: 'Auth0 without audience (opaque access token, ID token to the gateway)',
    idp: { accessTokenFormat: 'opaque' },
    config: ['--gateway-token', 'id_token'],
    token: 'id_token',
    rotates: true,
    check(auth) {
      expect(auth.get('audience')).toBeNull();
    },
  },
  {
    name: 'PingOne',
    idp: { issuerPath: '/5b7f3c0e-env/as' },
    config: [],
    token: 'access_token',
    rotates: true,
    check(auth) {
      expect(auth.get('code_challenge_method')).toBe('S256');
    },
  },
];

let hook: BrowserHook;
beforeAll(async () => {
  hook = await startBrowserHook({ login: 'casey' });
});
afterAll(async () => {
  await hook?.close();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe.each(PROFILES)('IdP profile: $name', (profile) => {
  it('login in the browser, refresh and a gateway call verified against the JWKS', async () => {
    const idp = await startTestIdp(profile.idp);
    const gw = await startFakeGateway({
      jwksUrl: idp.jwksUri,
      issuer: idp.issuer,
      audience: profile.token === 'id_token' ? idp.clientId : idp.audience,
    });
    const home = await configureOidcHome(idp, hook, { GATEPASS_INTERACTIVE: '0' });
    try {
      if (profile.config.length) {
        const r = await runGatepass(['config', 'set', ...profile.config], { env: home.env });
        expect(r.code, r.stderr).toBe(0);
      }
      if (profile.secret) {
        const r = await runGatepass(['config', 'set', '--client-secret-stdin'], {
          env: home.env,
          input: `${profile.secret}\n`,
        });
        expect(r.code, r.stderr).toBe(0);
        const yaml = readFileSync(home.configFile, 'utf8');
        expect(yaml).not.toContain(profile.secret);
        expect(yaml).toMatch(/client_secret: LLM_OIDC_CS_[0-9a-f]{8}/);
      }

      const logins = hook.logins();
      const login = await runGatepass(['login', '--timeout', '60'], { env: home.env, timeoutMs: 90_000 });
      expect(login.code, `${login.stderr}\n${hook.errors().join('\n')}`).toBe(0);
      await hook.waitForLogins(logins + 1);
      expect(login.stderr).not.toMatch(/issued no refresh token/);
      profile.check(idp.authRequests.at(-1)!, idp);
      if (profile.secret) expect(login.stderr + login.stdout).not.toContain(profile.secret);

      let r = await runGatepass(['token'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      const first = r.stdout.trim();
      let res = await fetch(`${gw.url}/v1/models`, bearer(first));
      expect(res.status, await res.text()).toBe(200);
      expect(gw.requests.at(-1)?.subject).toBe('casey');

      // Refresh (the cached token made to look expired), rotation as the IdP does it.
      const rtFile = path.join(home.secretsDir, home.secretKey());
      expect(existsSync(rtFile)).toBe(true);
      const rtBefore = readFileSync(rtFile, 'utf8');
      home.expireCachedToken();
      // ID tokens carry timestamps in whole seconds: one refreshed within the second of the first can be
      // byte for byte the same. Let that second pass, so "a new token" stays checkable.
      if (profile.token === 'id_token') {
        const { iat } = JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString('utf8')) as {
          iat: number;
        };
        while (Date.now() / 1000 < iat + 1) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      r = await runGatepass(['token'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      const second = r.stdout.trim();
      expect(second).not.toBe(first);
      expect(idp.grantCount('refresh_token')).toBe(1);
      expect(readFileSync(rtFile, 'utf8') !== rtBefore).toBe(profile.rotates);
      res = await fetch(`${gw.url}/v1/models`, bearer(second));
      expect(res.status, await res.text()).toBe(200);

      // Logout: revoked where the IdP has a revocation endpoint, local tokens gone either way.
      r = await runGatepass(['logout'], { env: home.env });
      expect(r.code, r.stderr).toBe(0);
      expect(idp.counts.revocations).toBe(profile.idp.revocation === false ? 0 : 1);
      expect(existsSync(rtFile)).toBe(false);
    } finally {
      home.cleanup();
      await gw.close();
      await idp.close();
    }
  }, 180_000);
});

describe('IdP profile details', () => {
  it('Google without access_type=offline: no offline_access sent, no refresh token, and the warning says what to add', async () => {
    const idp = await startTestIdp(PROFILES[1]!.idp);
    const home = await configureOidcHome(idp, hook, { GATEPASS_INTERACTIVE: '0' });
    try {
      const r0 = await runGatepass(
        ['config', 'set', '--client-secret-stdin', '--gateway-token', 'id_token'],
        {
          env: home.env,
          input: PROFILES[1]!.secret!,
        },
      );
      expect(r0.code, r0.stderr).toBe(0);
      const r = await runGatepass(['login', '--timeout', '60'], { env: home.env, timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(idp.authRequests.at(-1)!.get('scope')).toBe('openid profile email');
      expect(r.stderr).toMatch(/issued no refresh token .*access_type=offline&prompt=consent/);
      expect(existsSync(path.join(home.secretsDir, home.secretKey()))).toBe(false);
    } finally {
      home.cleanup();
      await idp.close();
    }
  }, 120_000);
});
