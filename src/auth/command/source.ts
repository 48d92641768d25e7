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
 */

import { promises as fsp } from 'node:fs';
import type { CommandProvider } from '../../config/schema.js';
import { DEFAULT_COMMAND_TIMEOUT_S } from '../../config/schema.js';
import { AuthError, describeError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { withoutEnvSecrets } from '../../secrets/env.js';
import { writeFileAtomic } from '../../util/fs.js';
import { withFileLock } from '../../util/lock.js';
import { refuseWhenLoggedOut } from '../logged-out.js';
import { isSafeToken, TOKEN_RULE } from '../token-chars.js';
import type { AuthContext, TokenRequest, TokenResult, TokenSource } from '../types.js';
import { type CacheEntry, cacheFilePath, readCache, writeCache } from './cache.js';
import { jwtExpiry, type ParsedToken, parseTokenOutput, stderrSuffix } from './parse.js';

/** A token is renewed when less than this remains. */
export const REFRESH_SKEW_MS = 60_000;
/** How long a token is trusted when neither its output, its JWT nor auth.token_ttl states an expiry. */
export const UNKNOWN_EXPIRY_TTL_MS = 300_000;

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

interface Held {
  token: string;
  /** Known expiry (epoch ms). */
  expiresAt?: number;
  /** When it was obtained (epoch ms): for unknown expiries and refresh_interval. */
  obtainedAt: number;
}

type Kind = 'token' | 'refresh';

/** Set for the commands we run, so a gatepass they start for the same cache can detect the loop. */
const RUNNING_VAR = 'GATEPASS_RUNNING_TOKEN_COMMAND';

/** `<cache>.failed`: when the last token_command run failed, and its (already redacted) message. */
async function readFailure(file: string): Promise<{ at: number; message: string } | undefined> {
  try {
    const o = JSON.parse(await fsp.readFile(file, 'utf8')) as { at?: unknown; message?: unknown };
    return typeof o.at === 'number' && typeof o.message === 'string'
      ? { at: o.at, message: o.message }
      : undefined;
  } catch {
    return undefined;
  }
}

async function writeFailure(file: string, err: unknown): Promise<void> {
  const message = describeError(err).split('\n')[0]!;
  await writeFileAtomic(file, JSON.stringify({ at: Date.now(), message }), { mode: 0o600 }).catch(() => {});
}

/** A cache the command wrote itself may have a loose mode; it holds a token, so make it 0600. */
async function tightenMode(file: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const st = await fsp.stat(file);
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await fsp.chmod(file, 0o600);
  } catch {
    // best effort
  }
}

export function createCommandTokenSource(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
): CommandTokenSource {
  const auth = provider.auth;
  const cacheFile = cacheFilePath(ctx.paths, ctx.env, name, provider);
  const failureFile = `${cacheFile}.failed`;
  const timeoutMs = (auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000;
  const invalidated = new Set<string>();
  let memory: Held | undefined;
  let inflight: Promise<TokenResult> | undefined;

  const usable = (h: Held, minValidityMs: number): boolean => {
    if (invalidated.has(h.token)) return false;
    const now = ctx.now();
    const expiry = h.expiresAt ?? h.obtainedAt + UNKNOWN_EXPIRY_TTL_MS;
    // A caller wanting more validity than the command's tokens ever have (10 min asked, 5 min
    // tokens) would otherwise re-run the command on every call: ask for at most half the lifetime.
    const lifetime = expiry - h.obtainedAt;
    const wanted = lifetime > 0 ? Math.min(minValidityMs, lifetime / 2) : minValidityMs;
    if (expiry - now <= wanted) return false;
    if (auth.refresh_interval && now - h.obtainedAt >= auth.refresh_interval * 1000) return false;
    return true;
  };

  const fromCache = (entry: CacheEntry, mtimeMs: number): Held => {
    const obtained = Number(entry.metadata['obtained_at']);
    const held: Held = {
      token: entry.token,
      obtainedAt: Number.isFinite(obtained) && obtained > 0 ? obtained * 1000 : mtimeMs,
    };
    // A cache written by the command itself may state no expiry: same fallbacks as for its output.
    const expiresAt =
      entry.expiresAt ??
      jwtExpiry(entry.token) ??
      (auth.token_ttl !== undefined ? held.obtainedAt + auth.token_ttl * 1000 : undefined);
    if (expiresAt !== undefined) held.expiresAt = expiresAt;
    return held;
  };

  const result = (h: Held, origin: TokenResult['origin']): TokenResult => {
    memory = h;
    const out: TokenResult = { token: h.token, origin };
    if (h.expiresAt !== undefined) out.expiresAt = h.expiresAt;
    // Long-running consumers (the proxy) come back by then, so the refresh happens on schedule.
    if (auth.refresh_interval) out.refreshAt = h.obtainedAt + auth.refresh_interval * 1000;
    return out;
  };

  const label = (kind: Kind) => `${kind}_command of provider "${name}"`;

  /** Run one command, parse its output (or the cache it wrote), store and return the token. */
  async function runAndStore(
    kind: Kind,
    prev: CacheEntry | undefined,
    interactive: boolean,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<TokenResult> {
    const command = kind === 'refresh' ? auth.refresh_command! : auth.token_command!;
    const before = await readCache(cacheFile);
    const beforeMtime = before.state === 'ok' ? before.mtimeMs : undefined;
    // Not the env secret store's GATEPASS_SECRET_* (other providers' refresh tokens): a refresh
    // command gets its own refresh token in GATEPASS_REFRESH_TOKEN, a token command needs none.
    const env: NodeJS.ProcessEnv = {
      ...withoutEnvSecrets(ctx.env),
      GATEPASS_PROVIDER: name,
      GATEPASS_TOKEN_CACHE: cacheFile,
      [RUNNING_VAR]: cacheFile,
    };
    if (kind === 'refresh' && prev?.refreshToken) env['GATEPASS_REFRESH_TOKEN'] = prev.refreshToken;
    ctx.logger.debug(`provider "${name}": running ${kind}_command${interactive ? ' (interactive)' : ''}`);
    // Imported only when a command runs: child_process is a noticeable share of a cache hit's start.
    const { runTokenCommand } = await import('./run.js');
    const out = await runTokenCommand({
      command,
      label: label(kind),
      interactive,
      timeoutMs: opts.timeoutMs,
      env,
      stderr: ctx.stderr,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const now = ctx.now();
    const after = await readCache(cacheFile);
    const written = after.state === 'ok' && after.mtimeMs !== beforeMtime ? after : undefined;
    // The command may write the cache file itself and print nothing.
    if (written && out.stdout.toString('utf8').trim() === '') {
      const held = fromCache(written.entry, written.mtimeMs);
      if (held.expiresAt !== undefined && held.expiresAt <= now) {
        throw new AuthError(
          'E_TOKEN_COMMAND',
          `${label(kind)} wrote an already expired token to ${cacheFile}${stderrSuffix(out.stderrTail)}`,
        );
      }
      ctx.logger.debug(`provider "${name}": ${kind}_command wrote the token cache itself`);
      await tightenMode(cacheFile);
      await fsp.rm(failureFile, { force: true }).catch(() => {});
      return result(held, kind === 'refresh' ? 'refresh' : 'command');
    }
    let parsed: ParsedToken;
    try {
      parsed = parseTokenOutput(out.stdout, {
        now,
        label: label(kind),
        ...(auth.token_ttl !== undefined ? { ttlSeconds: auth.token_ttl } : {}),
      });
    } catch (err) {
      // The output broke the contract (empty, not UTF-8, not a token…): what the command said on
      // stderr is usually why, so the error carries its tail like a non-zero exit does.
      if (err instanceof AuthError && out.stderrTail) {
        throw new AuthError(err.code, `${err.message}${stderrSuffix(out.stderrTail)}`, {
          ...(err.hint ? { hint: err.hint } : {}),
        });
      }
      throw err;
    }
    registerSecret(parsed.token);
    registerSecret(parsed.refreshToken);
    const refreshToken =
      parsed.refreshToken ??
      written?.entry.refreshToken ??
      (kind === 'refresh' ? prev?.refreshToken : undefined);
    const entry: CacheEntry = {
      token: parsed.token,
      metadata: {
        ...(written?.entry.metadata ?? {}),
        ...(parsed.metadata ?? {}),
        obtained_at: Math.floor(now / 1000),
        source: `${kind}_command`,
        ...(parsed.expirySource ? { expiry_source: parsed.expirySource } : {}),
      },
    };
    if (parsed.expiresAt !== undefined) entry.expiresAt = parsed.expiresAt;
    if (refreshToken) entry.refreshToken = refreshToken;
    await writeCache(cacheFile, entry);
    await fsp.rm(failureFile, { force: true }).catch(() => {});
    ctx.logger.debug(
      `provider "${name}": ${kind}_command gave a token${
        parsed.expiresAt
          ? ` valid until ${new Date(parsed.expiresAt).toISOString()} (${parsed.expirySource})`
          : ' with no stated expiry'
      }`,
    );
    const held: Held = { token: parsed.token, obtainedAt: now };
    if (parsed.expiresAt !== undefined) held.expiresAt = parsed.expiresAt;
    return result(held, kind === 'refresh' ? 'refresh' : 'command');
  }

  function fromEnv(): TokenResult | undefined {
    if (!auth.env_var) return undefined;
    const value = ctx.env[auth.env_var]?.trim();
    if (!value) return undefined;
    if (!isSafeToken(value)) {
      throw new AuthError(
        'E_AUTH_FAILED',
        `environment variable ${auth.env_var} (auth.env_var of provider "${name}") holds characters a token may not hold (only ${TOKEN_RULE})`,
        { hint: `set it to the bare token, or unset it to use the token command` },
      );
    }
    registerSecret(value);
    const exp = jwtExpiry(value);
    return exp === undefined
      ? { token: value, origin: 'env' }
      : { token: value, expiresAt: exp, origin: 'env' };
  }

  async function fetchToken(request: TokenRequest): Promise<TokenResult> {
    const interactive = request.interactive ?? ctx.interactive;
    const minValidity = request.minValidityMs ?? REFRESH_SKEW_MS;
    const force = Boolean(request.forceRefresh);
    const rejected = force ? memory?.token : undefined;
    const first = await readCache(cacheFile);
    if (!force && first.state === 'ok') {
      const held = fromCache(first.entry, first.mtimeMs);
      if (usable(held, minValidity)) return result(held, 'cache');
    }
    if (request.cacheOnly) {
      throw new AuthError('E_AUTH_REQUIRED', `no usable cached token for provider "${name}"`);
    }
    // Logged out by the user: the token command (often a browser SSO) does not run on its own.
    await refuseWhenLoggedOut(ctx, name, provider);
    const seenMtime = first.state === 'ok' ? first.mtimeMs : undefined;
    // A token command that calls gatepass for its own provider would wait forever on our lock.
    if (ctx.env[RUNNING_VAR] === cacheFile) {
      throw new AuthError(
        'E_TOKEN_COMMAND',
        `the token command of provider "${name}" runs gatepass for the same provider (a loop)`,
        { hint: 'the token command must get the token itself, not through gatepass' },
      );
    }
    const waitStarted = Date.now();
    return withFileLock(
      cacheFile,
      async () => {
        const read = await readCache(cacheFile);
        if (read.state === 'malformed') {
          ctx.logger.warn(`ignoring the token cache ${cacheFile}: ${read.reason}`);
        }
        const prev = read.state === 'ok' ? read.entry : undefined;
        if (read.state === 'ok') {
          const held = fromCache(read.entry, read.mtimeMs);
          // A forced refresh still takes a token another process fetched while we waited.
          const renewedMeanwhile = read.mtimeMs !== seenMtime && held.token !== rejected;
          if ((!force || renewedMeanwhile) && usable(held, minValidity)) return result(held, 'cache');
        }
        // The holder before us just failed: share its failure instead of running the command (and
        // maybe prompting the user) once more per waiting process.
        const failure = await readFailure(failureFile);
        if (failure && failure.at >= waitStarted) {
          throw new AuthError(
            'E_TOKEN_COMMAND',
            `the token command of provider "${name}" failed moments ago in another gatepass process: ${failure.message}`,
          );
        }
        const opts = { timeoutMs, ...(request.signal ? { signal: request.signal } : {}) };
        let refreshError: unknown;
        if (auth.refresh_command && prev) {
          try {
            return await runAndStore('refresh', prev, false, opts);
          } catch (err) {
            refreshError = err;
            if (auth.token_command) {
              ctx.logger.warn(
                `${label('refresh')} failed; running token_command instead (${describeError(err).split('\n')[0]})`,
              );
            }
          }
        }
        if (!auth.token_command) {
          if (refreshError) throw refreshError;
          throw new AuthError(
            'E_AUTH_REQUIRED',
            `no token for provider "${name}": ${auth.env_var ? `environment variable ${auth.env_var} is not set` : 'auth.env_var is not configured'} and there is no token_command`,
            {
              hint: `set ${auth.env_var ?? 'the variable'}, or configure one with \`gatepass config set --provider ${name} --token-command '…'\``,
            },
          );
        }
        try {
          return await runAndStore('token', prev, interactive, opts);
        } catch (err) {
          await writeFailure(failureFile, err);
          throw err;
        }
      },
      // The holder may be waiting for a human at an interactive command for up to the timeout.
      { waitMs: timeoutMs + 60_000 },
    );
  }

  return {
    providerName: name,
    cacheFile,

    async getToken(request: TokenRequest = {}): Promise<TokenResult> {
      const env = fromEnv();
      if (env) return env;
      if (!request.forceRefresh && memory && usable(memory, request.minValidityMs ?? REFRESH_SKEW_MS)) {
        return { ...result(memory, 'memory') };
      }
      // Single-flight inside this process too (the proxy may ask for many requests at once).
      inflight ??= fetchToken(request).finally(() => {
        inflight = undefined;
      });
      return inflight;
    },

    invalidate(token: string): void {
      invalidated.add(token);
      if (memory?.token === token) memory = undefined;
    },

    reset(): void {
      memory = undefined;
    },

    async login(options: CommandLoginOptions = {}): Promise<TokenResult> {
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
        timeoutMs: options.timeoutMs ?? timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      };
      return withFileLock(
        cacheFile,
        async () => {
          const read = await readCache(cacheFile);
          return runAndStore(
            'token',
            read.state === 'ok' ? read.entry : undefined,
            options.interactive ?? true,
            opts,
          );
        },
        { waitMs: opts.timeoutMs + 60_000 },
      );
    },
  };
}
