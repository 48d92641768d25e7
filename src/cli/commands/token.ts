/**
 * `gatepass token`: print a fresh token for any provider type. Kept lean — on a cache hit this loads
 * the config, the secret store and the provider's source, and nothing that speaks OAuth.
 */
import { canOpenBrowser } from '../../auth/browser.js';
import { createTokenSource } from '../../auth/factory.js';
import type { Provider } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { registerSecret } from '../../redact.js';
import { envBool } from '../../util/env.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';
import { formatToken, parseMinValid } from '../token-format.js';

export { EXEC_CREDENTIAL_API_VERSION, formatToken } from '../token-format.js';

import { HELPER_CHECK_ENV, HELPER_CHECK_MARKER } from '../../tools/self.js';
import { applyTlsFlags } from '../tls-flags.js';

export interface TokenOptions {
  interactive?: boolean;
  skipBrowser?: boolean;
  format?: string;
  minValid?: string;
  caFile?: string;
  tlsSkipVerify?: boolean;
}

/** kubectl's KUBERNETES_EXEC_INFO says whether it can interact with the user. */
function kubectlInteractive(env: NodeJS.ProcessEnv): boolean {
  try {
    const info = JSON.parse(env['KUBERNETES_EXEC_INFO'] ?? '') as { spec?: { interactive?: unknown } };
    return info.spec?.interactive === true;
  } catch {
    return false;
  }
}

/**
 * May this invocation run the browser login? See the command's help for the rule. The "never logged
 * in" case exists for lazy setup: a tool spawns `gatepass token` without a TTY on first use.
 */
export function tokenInteractivity(
  options: TokenOptions,
  env: NodeJS.ProcessEnv,
  provider: Provider,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (options.interactive) return true;
  const flag = envBool(env, 'GATEPASS_INTERACTIVE');
  if (flag !== undefined) return flag;
  // --skip-browser asks for the headless login (URL on stderr, wait for the callback), unless
  // GATEPASS_INTERACTIVE=0 says nobody is there to see it (Claude Desktop's background refreshes).
  if (options.skipBrowser) return true;
  if (options.format === 'exec-credential' && kubectlInteractive(env)) return true;
  // Logged out by the user is not "never logged in": no browser (the source refuses anyway).
  return (
    provider.type === 'oidc' && !provider.token_ref && !provider.logged_out && canOpenBrowser(env, platform)
  );
}

export async function run(ctx: CliContext, options: TokenOptions): Promise<number> {
  const format = options.format ?? 'token';
  formatToken({ token: '', origin: 'memory' }, format); // validate before any work
  const minValidityMs = parseMinValid(options.minValid);
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  applyTlsFlags(provider, options);
  if (envBool(ctx.env, HELPER_CHECK_ENV) === true) {
    // `gatepass status` checking that a tool's helper starts (setup/helper-check.ts): the config and
    // provider resolve; no token, no login. The fast path leaves such calls to this full path.
    ctx.print(`${HELPER_CHECK_MARKER} provider=${name} config=${ctx.paths.configFile}`);
    return 0;
  }
  const interactive = tokenInteractivity(options, ctx.env, provider);
  const auth = await buildAuthContext(ctx, {
    config,
    interactive,
    skipBrowser: Boolean(options.skipBrowser),
  });
  const source = await createTokenSource(auth, name, provider);
  const result = await source.getToken(
    minValidityMs === undefined ? { interactive } : { interactive, minValidityMs },
  );
  registerSecret(result.token);
  ctx.logger.debug(`token for provider "${name}" from ${result.origin}`);
  ctx.stdout.write(formatToken(result, format));
  // A lazy setup's deferred model discovery, once (stderr only; lazy-fill.ts).
  if (provider.models_pending)
    await (await import('../../setup/lazy-fill.js')).fillPendingModels(auth, name, result.token);
  return 0;
}
