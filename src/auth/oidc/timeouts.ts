/**
 * The OIDC token source's timing defaults: how long before expiry a token is refreshed, and how long
 * an interactive login waits (GATEPASS_LOGIN_TIMEOUT; the default is config/schema.ts', which the
 * login flow reads without importing the token source).
 */
import { DEFAULT_LOGIN_TIMEOUT_MS } from '../../config/schema.js';
import { envSeconds } from '../../util/env.js';

export { DEFAULT_LOGIN_TIMEOUT_MS } from '../../config/schema.js';
export const DEFAULT_REFRESH_SKEW_MS = 60_000;
export const LOGIN_TIMEOUT_ENV = 'GATEPASS_LOGIN_TIMEOUT';

/**
 * How long an interactive login (browser or device) waits: GATEPASS_LOGIN_TIMEOUT (seconds) or
 * 5 minutes. It applies wherever a login can start: `login`, `token`, `proxy`, `setup`.
 */
export function loginTimeoutMs(env: NodeJS.ProcessEnv): number {
  return envSeconds(env, LOGIN_TIMEOUT_ENV, DEFAULT_LOGIN_TIMEOUT_MS / 1000) * 1000;
}
