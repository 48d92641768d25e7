/**
 * The token-source contract shared by every consumer (`gatepass token`, the proxy, `exec`/`env`,
 * setup) and every implementation (OIDC, command providers); also the options and result of
 * login/logout (auth/login.ts dispatches them to the implementations, which import them from here).
 *
 * Errors follow Azure identity's split: `AuthError` with code `E_AUTH_REQUIRED` when the source is
 * *unavailable* (no credentials and not allowed to ask the user), `E_AUTH_FAILED` / `E_AUTH_TIMEOUT`
 * when it was available but *failed*.
 */
import type { GatepassPaths } from '../config/paths.js';
import type { GatepassConfig, Provider } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SecretStore } from '../secrets/types.js';

export type TokenOrigin = 'memory' | 'cache' | 'refresh' | 'login' | 'env' | 'command';

export interface TokenResult {
  /** The bearer token (an access token, never an ID or refresh token). */
  token: string;
  /** Expiry in epoch milliseconds, when known. */
  expiresAt?: number;
  /** Which tier produced it (for debug logs and status; never the token itself). */
  origin: TokenOrigin;
  /**
   * Epoch milliseconds after which the source wants to renew the token even though it is still
   * valid (a command provider's auth.refresh_interval); long-running consumers ask again by then.
   */
  refreshAt?: number;
}

export interface TokenRequest {
  /**
   * Whether an interactive step (browser login, an interactive token_command) may run. Defaults to
   * the source's own setting.
   */
  interactive?: boolean;
  /** Ignore in-memory and cached access tokens (e.g. after the gateway answered 401 with this one). */
  forceRefresh?: boolean;
  /** The token must stay valid at least this long (ms); defaults to the source's refresh skew. */
  minValidityMs?: number;
  signal?: AbortSignal;
  /**
   * Only what needs no lock, command, network or write: memory, the cache, the environment. Without
   * such a token, fail with E_AUTH_REQUIRED at once (the `gatepass token` fast path then hands over
   * to the full CLI, which does the rest).
   */
  cacheOnly?: boolean;
}

export interface TokenSource {
  readonly providerName: string;
  getToken(request?: TokenRequest): Promise<TokenResult>;
  /** Forget a token the gateway rejected, so the next getToken() does not return it again. */
  invalidate(token: string): void;
}

/** Opens a URL in the user's browser. Injected so tests can drive a headless browser instead. */
export type BrowserOpener = (url: string) => Promise<void>;

/** Everything a token source needs from its surroundings (wrangler-style injected context). */
export interface AuthContext {
  config: GatepassConfig;
  /** Path of the config file, for persisting token references after login/rotation. */
  configFile: string;
  paths: GatepassPaths;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Epoch milliseconds. */
  now: () => number;
  secrets: SecretStore;
  /** Allowed to run interactive steps by default? (`gatepass token` is not, unless asked.) */
  interactive: boolean;
  openBrowser?: BrowserOpener;
  /** Never open a browser; print the URL on stderr and wait (headless/SSH). */
  skipBrowser?: boolean;
  /** Where a pasted login redirect is read from (`login --paste`, or no browser at a terminal). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where progress and prompts for humans go (stderr). */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export type TokenSourceFactory = (ctx: AuthContext, providerName: string, provider: Provider) => TokenSource;

export interface LoginOptions {
  /** Use the device authorization grant (RFC 8628) instead of the browser (OIDC only). */
  device?: boolean;
  /** Print the URL and read the redirect address the user pastes (OIDC only; a remote browser). */
  paste?: boolean;
  /** Overall timeout for the interactive step, ms (default 5 min). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LogoutOptions {
  /** Revoke the refresh token at the IdP when it has a revocation endpoint (OIDC only). */
  revoke?: boolean;
}

export interface LogoutResult {
  /** Something was deleted from the secret store / cache. */
  deleted: boolean;
  /** The refresh token was revoked at the IdP. */
  revoked: boolean;
}
