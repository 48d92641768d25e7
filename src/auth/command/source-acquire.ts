/**
 * A command provider's token when neither the environment nor memory has one: the cache file, else
 * the commands under the cache file's lock — the cache is re-read once the lock is held, so N
 * concurrent gatepass processes run the command once and the others reuse its result (or share its
 * failure). Under the lock: auth.refresh_command (non-interactive) when a cached token exists, then
 * auth.token_command.
 */
import { AuthError, describeError } from '../../errors.js';
import { withFileLock } from '../../util/lock.js';
import { refuseWhenLoggedOut } from '../logged-out.js';
import type { TokenRequest, TokenResult } from '../types.js';
import { type CacheEntry, readCache } from './cache.js';
import { runAndStore } from './run-and-store.js';
import { readFailure, writeFailure } from './source-failure.js';
import {
  type CommandSourceState,
  fromCache,
  label,
  REFRESH_SKEW_MS,
  RUNNING_VAR,
  result,
  usable,
} from './source-state.js';

/** What the caller saw before waiting for the lock. */
interface BeforeLock {
  minValidity: number;
  force: boolean;
  /** The token a forced refresh replaces. */
  rejected: string | undefined;
  /** The cache file's mtime when first read. */
  seenMtime: number | undefined;
  waitStarted: number;
}

/** The cache file, else the commands under its lock. */
export async function acquire(s: CommandSourceState, request: TokenRequest): Promise<TokenResult> {
  const { ctx, name, cacheFile } = s;
  const minValidity = request.minValidityMs ?? REFRESH_SKEW_MS;
  const force = Boolean(request.forceRefresh);
  const rejected = force ? s.memory?.token : undefined;
  const first = await readCache(cacheFile);
  if (!force && first.state === 'ok') {
    const held = fromCache(s, first.entry, first.mtimeMs);
    if (usable(s, held, minValidity)) return result(s, held, 'cache');
  }
  if (request.cacheOnly) {
    throw new AuthError('E_AUTH_REQUIRED', `no usable cached token for provider "${name}"`);
  }
  // Logged out by the user: the token command (often a browser SSO) does not run on its own.
  await refuseWhenLoggedOut(ctx, name, s.provider);
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
    () => acquireLocked(s, request, { minValidity, force, rejected, seenMtime, waitStarted }),
    // The holder may be waiting for a human at an interactive command for up to the timeout.
    { waitMs: s.timeoutMs + 60_000 },
  );
}

/** Holding the lock: a token another process fetched meanwhile, its fresh failure, or the commands. */
async function acquireLocked(
  s: CommandSourceState,
  request: TokenRequest,
  seen: BeforeLock,
): Promise<TokenResult> {
  const { ctx, name, cacheFile } = s;
  const read = await readCache(cacheFile);
  if (read.state === 'malformed') {
    ctx.logger.warn(`ignoring the token cache ${cacheFile}: ${read.reason}`);
  }
  const prev = read.state === 'ok' ? read.entry : undefined;
  if (read.state === 'ok') {
    const held = fromCache(s, read.entry, read.mtimeMs);
    // A forced refresh still takes a token another process fetched while we waited.
    const renewedMeanwhile = read.mtimeMs !== seen.seenMtime && held.token !== seen.rejected;
    if ((!seen.force || renewedMeanwhile) && usable(s, held, seen.minValidity)) {
      return result(s, held, 'cache');
    }
  }
  // The holder before us just failed: share its failure instead of running the command (and
  // maybe prompting the user) once more per waiting process.
  const failure = await readFailure(s.failureFile);
  if (failure && failure.at >= seen.waitStarted) {
    throw new AuthError(
      'E_TOKEN_COMMAND',
      `the token command of provider "${name}" failed moments ago in another gatepass process: ${failure.message}`,
    );
  }
  const interactive = request.interactive ?? ctx.interactive;
  const opts = { timeoutMs: s.timeoutMs, ...(request.signal ? { signal: request.signal } : {}) };
  return runCommands(s, prev, interactive, opts);
}

/** refresh_command when there is a token to refresh, falling back to token_command. */
async function runCommands(
  s: CommandSourceState,
  prev: CacheEntry | undefined,
  interactive: boolean,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<TokenResult> {
  const { auth, ctx, name } = s;
  let refreshError: unknown;
  if (auth.refresh_command && prev) {
    try {
      return await runAndStore(s, 'refresh', prev, false, opts);
    } catch (err) {
      refreshError = err;
      if (auth.token_command) {
        ctx.logger.warn(
          `${label(s, 'refresh')} failed; running token_command instead (${describeError(err).split('\n')[0]})`,
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
    return await runAndStore(s, 'token', prev, interactive, opts);
  } catch (err) {
    await writeFailure(s.failureFile, err);
    throw err;
  }
}
