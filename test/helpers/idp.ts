/**
 * A real OpenID Provider (oidc-provider v9) on 127.0.0.1 with a random port, for integration and e2e
 * tests: a public native client with PKCE, refresh-token rotation, JWT access tokens signed by the
 * IdP (via a resource indicator), the device grant, revocation, and the development login/consent
 * pages that the headless browser (test/helpers/browser.ts) fills in.
 *
 * Controls let a test take the IdP down (connection refused), make it slow, or answer every refresh
 * grant with `invalid_grant`, answer the token endpoint with any status and body, or rewrite its
 * successful answers (a hostile IdP); `counts` records every request and every successful grant by type.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { enableTokenExchange, TOKEN_EXCHANGE_GRANT } from './idp-token-exchange.js';

export interface TestIdpOptions {
  clientId?: string;
  /** Access-token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Refresh-token lifetime in seconds (default 1 day). */
  refreshTokenTtl?: number;
  /** `aud` of the JWT access tokens (default "gatepass-gateway"). */
  audience?: string;
  /** Port to listen on (default: random). */
  port?: number;
  /** Serve HTTPS with this certificate (PEM; issuer https://127.0.0.1:port) instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Offer the device authorization grant (default true). */
  deviceFlow?: boolean;
  /** Offer a revocation endpoint (default true). */
  revocation?: boolean;
  /**
   * The issuer's origin when it is not the listening address, e.g. `https://idp.corp.test` for an
   * IdP only reachable through a test egress proxy that maps that name to this server.
   */
  issuerOrigin?: string;
  // IdP profiles (docs/idps.md): behave like Entra, Google, Okta, Auth0, Keycloak, Ping.
  /** Path of the issuer, e.g. `/<tenant id>/v2.0` (Entra) or `/oauth2/default` (Okta). */
  issuerPath?: string;
  /** scopes_supported (default openid, offline_access, profile, email). */
  scopes?: string[];
  /** Authorization requests asking for any of these get 400 invalid_scope (Google: offline_access). */
  rejectScopes?: string[];
  /** Issue refresh tokens only when the authorization request had this parameter (Google: access_type=offline). */
  refreshTokenOnlyWith?: { name: string; value: string };
  /** A confidential client: this secret, with this token-endpoint auth method (the only one discovery lists besides none). */
  clientSecret?: { secret: string; method: 'client_secret_post' | 'client_secret_basic' };
  /** Access-token format (default jwt; opaque: Auth0 without audience, Google). */
  accessTokenFormat?: 'jwt' | 'opaque';
  /** Rotate refresh tokens on use (default true; Google and Keycloak by default do not). */
  rotateRefreshToken?: boolean;
  /** Registered redirect URIs (default both http://127.0.0.1/callback and http://localhost/callback; any port). */
  redirectUris?: string[];
  /** Offer token exchange (RFC 8693) to the client (idp-token-exchange.ts). */
  tokenExchange?: boolean;
  /** Offer open Dynamic Client Registration (RFC 7591) at `/reg` (oidc-provider's `features.registration`). */
  registration?: boolean;
  /** Confidential clients only: the token endpoint takes client_secret_basic, never `none` (registered clients get a secret). */
  secretOnly?: boolean;
  /** The JWT access tokens' `aud` is the resource indicator the client asked for (RFC 8707). */
  audienceFromResource?: boolean;
}

export interface GrantCounts {
  /** Every HTTP request the IdP received (any path). */
  requests: number;
  /** Successful token-endpoint grants, by grant_type. */
  grants: Record<string, number>;
  /** Requests to the token endpoint, by grant_type (including failures). */
  tokenRequests: Record<string, number>;
  /** Successful revocations. */
  revocations: number;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  port: number;
  /** The resource indicator used for JWT access tokens. */
  resource: string;
  audience: string;
  /** Live counters (mutated in place). */
  counts: GrantCounts;
  /** Shorthand: successful grants of `type` so far. */
  grantCount(type: string): number;
  resetCounts(): void;
  /** Stop listening: clients get ECONNREFUSED until up(). */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  /** Delay every response by `ms` (0 to stop). */
  setDelay(ms: number): void;
  /** Answer every refresh_token grant with 400 invalid_grant while on. */
  setInvalidGrant(on: boolean): void;
  /**
   * Answer every token-endpoint request with this 5xx status (and `body`, HTML by default) before
   * the IdP sees it, so no refresh token is consumed; undefined to stop.
   */
  setTokenFailure(status: number | undefined, body?: { type: 'json' | 'html'; text: string }): void;
  /**
   * Rewrite every successful token-endpoint response body (after the IdP issued it, so the grant
   * really happened: codes and refresh tokens are consumed) — a hostile IdP; undefined to stop.
   */
  setTokenRewrite(rewrite: ((body: Record<string, unknown>) => void) | undefined): void;
  /** Revoke a token at the IdP's revocation endpoint, as an admin or another client would. */
  revoke(token: string): Promise<void>;
  /** JWKS URL, to verify access tokens with jose. */
  jwksUri: string;
  /** Query parameters of every authorization request (`/auth`) received. */
  authRequests: URLSearchParams[];
  /** Body parameters of every token-endpoint request received (grant_type, resource, …; codes and tokens included). */
  tokenRequestParams: URLSearchParams[];
  /** Client ids the IdP registered through Dynamic Client Registration. */
  registeredClients: string[];
  close(): Promise<void>;
}

function emptyCounts(): GrantCounts {
  return { requests: 0, grants: {}, tokenRequests: {}, revocations: 0 };
}

export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const clientId = options.clientId ?? 'gatepass-test';
  const audience = options.audience ?? 'gatepass-gateway';
  const resource = 'https://gateway.gatepass.test/';
  const counts = emptyCounts();
  let delayMs = 0;
  let invalidGrant = false;
  let tokenFailure: { status: number; body: { type: 'json' | 'html'; text: string } } | undefined;
  let tokenRewrite: ((body: Record<string, unknown>) => void) | undefined;

  // Reserve the port first: the issuer URL must be known before the Provider is built.
  // oidc-provider runs the same behind node:https (`https.createServer(opts, callback)`).
  const server = (options.tls ? https.createServer(options.tls) : http.createServer()) as http.Server;
  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const prefix = options.issuerPath?.replace(/\/+$/, '') ?? '';
  const issuer = `${options.issuerOrigin ?? `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`}${prefix}`;
  const authRequests: URLSearchParams[] = [];
  const tokenRequestParams: URLSearchParams[] = [];
  const registeredClients: string[] = [];
  /** code_challenge → the authorization request carried refreshTokenOnlyWith. */
  const offlineByChallenge = new Map<string, boolean>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        application_type: 'native',
        ...(options.secretOnly
          ? { token_endpoint_auth_method: 'client_secret_basic', client_secret: 'static-client-secret' }
          : options.clientSecret
            ? {
                token_endpoint_auth_method: options.clientSecret.method,
                client_secret: options.clientSecret.secret,
              }
            : { token_endpoint_auth_method: 'none' }),
        // Native clients may use any loopback port (RFC 8252 7.3); oidc-provider ignores the port.
        redirect_uris: options.redirectUris ?? ['http://127.0.0.1/callback', 'http://localhost/callback'],
        grant_types: [
          'authorization_code',
          'refresh_token',
          ...(options.deviceFlow === false ? [] : ['urn:ietf:params:oauth:grant-type:device_code']),
          ...(options.tokenExchange ? [TOKEN_EXCHANGE_GRANT] : []),
        ],
        response_types: ['code'],
      },
    ],
    scopes: options.scopes ?? ['openid', 'offline_access', 'profile', 'email'],
    ...(options.clientSecret ? { clientAuthMethods: ['none', options.clientSecret.method] } : {}),
    ...(options.secretOnly ? { clientAuthMethods: ['client_secret_basic'] } : {}),
    extraParams: ['access_type', 'domain_hint', 'idp', 'audience'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    async findAccount(_ctx: unknown, sub: string) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: `${sub}@example.test`, name: sub };
        },
      };
    },
    pkce: { required: () => true },
    rotateRefreshToken: options.rotateRefreshToken ?? true,
    // oidc-provider drops offline_access unless prompt=consent; most IdPs do not. Behave like them:
    // issue (rotating) refresh tokens to the client whenever it may use the grant (with
    // refreshTokenOnlyWith, only after an authorization request that carried that parameter).
    async issueRefreshToken(
      _ctx: unknown,
      client: { grantTypeAllowed(t: string): boolean },
      code: { kind?: string; codeChallenge?: string },
    ) {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      if (!options.refreshTokenOnlyWith || code?.kind !== 'AuthorizationCode') return true;
      return offlineByChallenge.get(code.codeChallenge ?? '') === true;
    },
    async expiresWithSession() {
      return false;
    },
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      RefreshToken: options.refreshTokenTtl ?? 86400,
      Grant: 86400,
      Session: 86400,
      Interaction: 3600,
      AuthorizationCode: 600,
      DeviceCode: 600,
      IdToken: 3600,
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: options.deviceFlow !== false },
      revocation: { enabled: options.revocation !== false },
      registration: { enabled: options.registration === true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => ({
          scope: 'llm',
          audience: options.audienceFromResource ? indicator : audience,
          accessTokenTTL: options.accessTokenTtl ?? 3600,
          accessTokenFormat: options.accessTokenFormat ?? 'jwt',
        }),
      },
    },
  });
  provider.proxy = false;
  if (options.tokenExchange) enableTokenExchange(provider, issuer, audience);

  provider.use(async (ctx, next) => {
    counts.requests += 1;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const q = new URLSearchParams((ctx as unknown as { querystring: string }).querystring);
      authRequests.push(q);
      const asked = (q.get('scope') ?? '').split(' ');
      const bad = options.rejectScopes?.find((sc) => asked.includes(sc));
      if (bad) {
        // Google shows an error page and never redirects back.
        ctx.status = 400;
        ctx.set('content-type', 'text/html');
        ctx.body = `<html><body><h1>Error 400: invalid_scope</h1><p>Some requested scopes were invalid: ${bad}</p></body></html>`;
        return;
      }
      const want = options.refreshTokenOnlyWith;
      if (want && q.get('code_challenge')) {
        offlineByChallenge.set(q.get('code_challenge')!, q.get(want.name) === want.value);
      }
    }
    if (tokenFailure && ctx.path === '/token' && ctx.method === 'POST') {
      counts.tokenRequests['failed'] = (counts.tokenRequests['failed'] ?? 0) + 1;
      ctx.status = tokenFailure.status;
      ctx.set('content-type', tokenFailure.body.type === 'json' ? 'application/json' : 'text/html');
      ctx.body = tokenFailure.body.text;
      return;
    }
    await next();
    if (ctx.path === '/reg' && ctx.method === 'POST' && ctx.status === 201) {
      registeredClients.push(String((ctx.body as { client_id?: unknown } | undefined)?.client_id));
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const params = Object.entries((ctx.oidc?.params ?? {}) as Record<string, unknown>);
      tokenRequestParams.push(
        new URLSearchParams(params.filter((e): e is [string, string] => typeof e[1] === 'string')),
      );
      const type = String(ctx.oidc?.params?.grant_type ?? 'unknown');
      counts.tokenRequests[type] = (counts.tokenRequests[type] ?? 0) + 1;
      if (invalidGrant && type === 'refresh_token') {
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
        return;
      }
      if (ctx.status === 200) counts.grants[type] = (counts.grants[type] ?? 0) + 1;
      if (ctx.status === 200 && tokenRewrite && ctx.body && typeof ctx.body === 'object') {
        tokenRewrite(ctx.body as Record<string, unknown>);
      }
    }
    if (ctx.path === '/token/revocation' && ctx.status === 200) counts.revocations += 1;
  });

  const handler = provider.callback();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Mounted under the issuer's path (as oidc-provider documents); its interaction pages live at /.
    if (prefix && req.url?.startsWith(`${prefix}/`)) {
      (req as { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url.slice(prefix.length);
    }
    handler(req, res);
  });

  return {
    issuer,
    clientId,
    port,
    resource,
    audience,
    counts,
    jwksUri: `${issuer}/jwks`,
    authRequests,
    tokenRequestParams,
    registeredClients,
    grantCount: (type) => counts.grants[type] ?? 0,
    resetCounts() {
      Object.assign(counts, emptyCounts());
    },
    async down() {
      await closeServer(server);
    },
    async up() {
      if (!server.listening) await listen(server, port);
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setInvalidGrant(on) {
      invalidGrant = on;
    },
    setTokenFailure(status, body = { type: 'html', text: '<html><body>Service Unavailable</body></html>' }) {
      tokenFailure = status === undefined ? undefined : { status, body };
    },
    setTokenRewrite(rewrite) {
      tokenRewrite = rewrite;
    },
    async revoke(token) {
      const res = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: clientId }).toString(),
      });
      if (res.status !== 200) throw new Error(`revocation failed: HTTP ${res.status} ${await res.text()}`);
    },
    async close() {
      await closeServer(server);
    },
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
