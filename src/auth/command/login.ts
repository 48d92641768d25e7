/**
 * `gatepass login` / `logout` for command providers: login runs token_command now (interactive,
 * whatever the cache holds) and caches its token; logout deletes the cache file. Nothing is revoked:
 * the user's own tooling owns the session.
 */
import type { CommandProvider } from '../../config/schema.js';
import { setLoggedOut } from '../logged-out.js';
import type { AuthContext, LoginOptions, LogoutOptions, LogoutResult, TokenResult } from '../types.js';
import { cacheFilePath, deleteCache } from './cache.js';
import { createCommandTokenSource } from './source.js';

export async function loginCommandProvider(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
  options: LoginOptions,
): Promise<TokenResult> {
  const source = createCommandTokenSource(ctx, name, provider);
  const result = await source.login({
    interactive: true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (provider.logged_out) await setLoggedOut(ctx, name, provider, false);
  return result;
}

export async function logoutCommandProvider(
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
  _options: LogoutOptions,
): Promise<LogoutResult> {
  const deleted = await deleteCache(cacheFilePath(ctx.paths, ctx.env, name, provider));
  await setLoggedOut(ctx, name, provider, true);
  return { deleted, revoked: false };
}
