/**
 * One run of a command provider's refresh_command or token_command: run it (run.ts, loaded only
 * now), take its token from stdout (parse.ts) or from the cache file it wrote itself, store it in the
 * cache file and serve it. Callers hold the cache file's lock.
 */
import { promises as fsp } from 'node:fs';
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { withoutEnvSecrets } from '../../secrets/env.js';
import type { TokenResult } from '../types.js';
import { type CacheEntry, type CacheRead, readCache, writeCache } from './cache.js';
import { type ParsedToken, parseTokenOutput, stderrSuffix } from './parse.js';
import type { CommandOutput } from './run.js';
import {
  type CommandSourceState,
  fromCache,
  type Held,
  type Kind,
  label,
  RUNNING_VAR,
  result,
} from './source-state.js';

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

/** Run one command, parse its output (or the cache it wrote), store and return the token. */
export async function runAndStore(
  s: CommandSourceState,
  kind: Kind,
  prev: CacheEntry | undefined,
  interactive: boolean,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<TokenResult> {
  const { auth, ctx, name, cacheFile } = s;
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
    label: label(s, kind),
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
  if (written && out.stdout.toString('utf8').trim() === '')
    return takeWrittenCache(s, kind, written, out, now);
  return storeOutput(s, kind, prev, written, out, now);
}

type WrittenCache = Extract<CacheRead, { state: 'ok' }>;

/** The command printed nothing and wrote the cache file itself: serve what it wrote. */
async function takeWrittenCache(
  s: CommandSourceState,
  kind: Kind,
  written: WrittenCache,
  out: CommandOutput,
  now: number,
): Promise<TokenResult> {
  const { ctx, name, cacheFile } = s;
  const held = fromCache(s, written.entry, written.mtimeMs);
  if (held.expiresAt !== undefined && held.expiresAt <= now) {
    throw new AuthError(
      'E_TOKEN_COMMAND',
      `${label(s, kind)} wrote an already expired token to ${cacheFile}${stderrSuffix(out.stderrTail)}`,
    );
  }
  ctx.logger.debug(`provider "${name}": ${kind}_command wrote the token cache itself`);
  await tightenMode(cacheFile);
  await fsp.rm(s.failureFile, { force: true }).catch(() => {});
  return result(s, held, kind === 'refresh' ? 'refresh' : 'command');
}

/** Parse the command's stdout, write the cache file (keeping what the command added) and serve it. */
async function storeOutput(
  s: CommandSourceState,
  kind: Kind,
  prev: CacheEntry | undefined,
  written: WrittenCache | undefined,
  out: CommandOutput,
  now: number,
): Promise<TokenResult> {
  const { auth, ctx, name, cacheFile } = s;
  let parsed: ParsedToken;
  try {
    parsed = parseTokenOutput(out.stdout, {
      now,
      label: label(s, kind),
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
  await fsp.rm(s.failureFile, { force: true }).catch(() => {});
  ctx.logger.debug(
    `provider "${name}": ${kind}_command gave a token${
      parsed.expiresAt
        ? ` valid until ${new Date(parsed.expiresAt).toISOString()} (${parsed.expirySource})`
        : ' with no stated expiry'
    }`,
  );
  const held: Held = { token: parsed.token, obtainedAt: now };
  if (parsed.expiresAt !== undefined) held.expiresAt = parsed.expiresAt;
  return result(s, held, kind === 'refresh' ? 'refresh' : 'command');
}
