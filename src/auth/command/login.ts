/**
 * `gatepass login` / `logout` for command providers: login runs token_command now (interactive,
 * whatever the cache holds) and caches its token; logout deletes the cache file. Nothing is revoked:
 * the user's own tooling owns the session.
 */
import type { CommandProvider } from '../../config/schema.js';
import type { LoginOptions, LogoutOptions, LogoutResult } from '../login.js';
import type { AuthContext, TokenResult } from '../types.js';
import { cacheFilePath, deleteCache } from './cache.js';
import { createCommandTokenSource } from './source.js';

export async function loginCommandProvider(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
  options: LoginOptions,
): Promise<TokenResult> {
  const source = createCommandTokenSource(ctx, name, provider);
  return source.login({
    interactive: true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export async function logoutCommandProvider(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
  _options: LogoutOptions,
): Promise<LogoutResult> {
  const deleted = await deleteCache(cacheFilePath(ctx.paths, ctx.env, name, provider));
  return { deleted, revoked: false };
}
