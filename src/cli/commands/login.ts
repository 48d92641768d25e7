import { loginProvider } from '../../auth/login.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { UsageError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';
import { applyTlsFlags } from '../tls-flags.js';

export interface LoginCommandOptions {
  device?: boolean;
  paste?: boolean;
  skipBrowser?: boolean;
  timeout?: string;
  caFile?: string;
  tlsSkipVerify?: boolean;
}

export async function run(ctx: CliContext, options: LoginCommandOptions): Promise<number> {
  if (options.paste && (options.device || options.skipBrowser)) {
    throw new UsageError(`--paste cannot be combined with ${options.device ? '--device' : '--skip-browser'}`);
  }
  let timeoutMs: number | undefined;
  if (options.timeout !== undefined) {
    const s = Number(options.timeout);
    if (!Number.isFinite(s) || s <= 0)
      throw new UsageError(`--timeout must be a positive number of seconds, got "${options.timeout}"`);
    timeoutMs = s * 1000;
  }
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  applyTlsFlags(provider, options);
  const auth = await buildAuthContext(ctx, {
    config,
    interactive: true,
    skipBrowser: Boolean(options.skipBrowser),
  });
  const result = await loginProvider(auth, name, provider, {
    ...(options.device ? { device: true } : {}),
    ...(options.paste ? { paste: true } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  registerSecret(result.token);
  const until = result.expiresAt ? `; token valid until ${new Date(result.expiresAt).toISOString()}` : '';
  ctx.logger.info(`Logged in (provider "${name}", tokens in ${auth.secrets.description})${until}`);
  // A lazy setup's deferred model discovery, once (lazy-fill.ts): later tokens may come from the fast path.
  if (provider.models_pending)
    await (await import('../../setup/lazy-fill.js')).fillPendingModels(auth, name, result.token);
  return 0;
}
