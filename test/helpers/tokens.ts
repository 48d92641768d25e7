/**
 * Test token plumbing for proxy tests: a tiny in-process JWT issuer (a jose key pair whose JWKS is
 * served on loopback, so the fake gateway verifies real signatures) and a TestTokenSource that
 * implements the TokenSource contract, counts calls and can fail, hang or hand out expiring tokens.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { TokenRequest, TokenResult, TokenSource } from '../../src/auth/types.js';
import { AuthError } from '../../src/errors.js';

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** Sign an access token (RS256) for `sub`, valid `ttlS` seconds. */
  sign(options?: { sub?: string; ttlS?: number; audience?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(options: { audience?: string } = {}): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const audience = options.audience ?? 'llm-gateway';
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    audience,
    async sign({ sub = 'alice', ttlS = 3600, audience: aud = audience } = {}) {
      return new SignJWT({ scope: 'openid' })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setIssuer(issuer)
        .setAudience(aud)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
        .sign(privateKey);
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TestTokenSourceOptions {
  /** Produces the token for call number n (1-based). Default: `test-token-<n>`. */
  issue?: (n: number) => Promise<string> | string;
  /** Expiry to report, relative to now (ms); undefined = unknown. */
  expiresInMs?: number;
  /** refreshAt to report, relative to now (ms): the source's own renewal schedule. */
  refreshInMs?: number;
  /** Delay each getToken by this long (a login in progress). */
  delayMs?: number;
  /** Fail every call with this error. */
  fail?: Error;
}

export class TestTokenSource implements TokenSource {
  readonly providerName = 'test';
  calls = 0;
  requests: TokenRequest[] = [];
  invalidated: string[] = [];
  constructor(public options: TestTokenSourceOptions = {}) {}

  async getToken(request: TokenRequest = {}): Promise<TokenResult> {
    this.calls++;
    this.requests.push(request);
    const n = this.calls;
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    if (this.options.fail) throw this.options.fail;
    const token = this.options.issue ? await this.options.issue(n) : `test-token-${n}`;
    const result: TokenResult = { token, origin: n === 1 ? 'login' : 'refresh' };
    if (this.options.expiresInMs !== undefined) result.expiresAt = Date.now() + this.options.expiresInMs;
    if (this.options.refreshInMs !== undefined) result.refreshAt = Date.now() + this.options.refreshInMs;
    return result;
  }

  invalidate(token: string): void {
    this.invalidated.push(token);
  }
}

export function authRequired(): AuthError {
  return new AuthError('E_AUTH_REQUIRED', 'not logged in to provider "test"', {
    hint: 'run `gatepass login`',
  });
}
