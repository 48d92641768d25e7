/**
 * Token source of a `command` provider: the token comes from the user's own tooling.
 *
 * Resolution order (Trailblaze plan 037):
 * 1. `auth.env_var`, when set and non-empty — always wins (CI, manual override).
 * 2. The in-memory token, then the cache file, while valid for longer than the skew (60 s) and
 *    younger than `auth.refresh_interval` (when set).
 * 3. `auth.refresh_command` (non-interactive, stdin ignored) when a cached token exists but is near
 *    or past expiry; on failure we fall back to 4.
 * 4. `auth.token_command`. It runs in every context: interactively (stdin inherited) when the caller
 *    allows it, otherwise with stdin ignored — it is the user's own tool, and commands such as
 *    `gcloud auth print-access-token` need no terminal at all.
 *
 * Steps 3–4 run under a lock on the cache file, and the cache is re-read once the lock is held, so
 * N concurrent gatepass processes run the command once and the others reuse its result.
 *
 * `getToken` below reads in that order: environment (source-env.ts) → memory → one fetch in flight
 * per process → the cache file, then the commands under the lock (source-acquire.ts), each run
 * parsed and stored by run-and-store.ts. The source's state is one named object (source-state.ts).
 */

import type { CommandProvider } from '../../config/schema.js';
import { AuthError } from '../../errors.js';
import { withFileLock } from '../../util/lock.js';
import type { AuthContext, TokenRequest, TokenResult, TokenSource } from '../types.js';
import { readCache } from './cache.js';
import { runAndStore } from './run-and-store.js';
import { acquire } from './source-acquire.js';
import { fromEnv } from './source-env.js';
import {
  type CommandSourceState,
  createSourceState,
  REFRESH_SKEW_MS,
  result,
  usable,
} from './source-state.js';

export { REFRESH_SKEW_MS, UNKNOWN_EXPIRY_TTL_MS } from './source-state.js';

export interface CommandLoginOptions {
  /** Default true. */
  interactive?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CommandTokenSource extends TokenSource {
  readonly cacheFile: string;
  /** Run token_command now, whatever the cache holds, and cache its token. */
  login(options?: CommandLoginOptions): Promise<TokenResult>;
  /** Forget the in-memory token (the cache file is the caller's business). */
  reset(): void;
}

export function createCommandTokenSource(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
): CommandTokenSource {
  const s = createSourceState(ctx, name, provider);
  return {
    providerName: name,
    cacheFile: s.cacheFile,
    getToken: (request: TokenRequest = {}) => getToken(s, request),
    invalidate(token: string): void {
      s.invalidated.add(token);
      if (s.memory?.token === token) s.memory = undefined;
    },
    reset(): void {
      s.memory = undefined;
    },
    login: (options: CommandLoginOptions = {}) => login(s, options),
  };
}

/** Environment → memory → one fetch in flight per process → cache file, commands (acquire). */
async function getToken(s: CommandSourceState, request: TokenRequest): Promise<TokenResult> {
  const env = fromEnv(s);
  if (env) return env;
  if (!request.forceRefresh && s.memory && usable(s, s.memory, request.minValidityMs ?? REFRESH_SKEW_MS)) {
    return { ...result(s, s.memory, 'memory') };
  }
  // Single-flight inside this process too (the proxy may ask for many requests at once).
  s.inflight ??= acquire(s, request).finally(() => {
    s.inflight = undefined;
  });
  return s.inflight;
}

/** `gatepass login` for a command provider: run token_command now, whatever the cache holds. */
async function login(s: CommandSourceState, options: CommandLoginOptions): Promise<TokenResult> {
  const { auth, ctx, name, cacheFile } = s;
  if (!auth.token_command) {
    throw new AuthError('E_AUTH_UNAVAILABLE', `provider "${name}" has no token_command to log in with`, {
      hint: auth.env_var ? `its token comes from the environment variable ${auth.env_var}` : undefined,
    });
  }
  if (auth.env_var && ctx.env[auth.env_var]?.trim()) {
    ctx.logger.warn(
      `environment variable ${auth.env_var} is set and overrides the token fetched now for provider "${name}"`,
    );
  }
  const opts = {
    timeoutMs: options.timeoutMs ?? s.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return withFileLock(
    cacheFile,
    async () => {
      const read = await readCache(cacheFile);
      return runAndStore(
        s,
        'token',
        read.state === 'ok' ? read.entry : undefined,
        options.interactive ?? true,
        opts,
      );
    },
    { waitMs: opts.timeoutMs + 60_000 },
  );
}
