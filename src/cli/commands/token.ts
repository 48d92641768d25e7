/**
 * `gatepass token`: print a fresh token for any provider type. Kept lean — on a cache hit this loads
 * the config, the secret store and the provider's source, and nothing that speaks OAuth.
 */
import { canOpenBrowser } from '../../auth/browser.js';
import { createTokenSource } from '../../auth/factory.js';
import type { TokenResult } from '../../auth/types.js';
import type { Provider } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { UsageError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { buildAuthContext } from '../auth-context.js';
import { type CliContext, envFlag } from '../context.js';
import { applyTlsFlags } from '../tls-flags.js';

export interface TokenOptions {
  interactive?: boolean;
  skipBrowser?: boolean;
  format?: string;
  minValid?: string;
  caFile?: string;
  tlsSkipVerify?: boolean;
}

export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1';

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
  const flag = env['GATEPASS_INTERACTIVE'];
  if (flag !== undefined && flag !== '') return envFlag(env, 'GATEPASS_INTERACTIVE');
  // --skip-browser asks for the headless login (URL on stderr, wait for the callback), unless
  // GATEPASS_INTERACTIVE=0 says nobody is there to see it (Claude Desktop's background refreshes).
  if (options.skipBrowser) return true;
  if (options.format === 'exec-credential' && kubectlInteractive(env)) return true;
  return provider.type === 'oidc' && !provider.token_ref && canOpenBrowser(env, platform);
}

export function formatToken(result: TokenResult, format: string): string {
  switch (format) {
    case 'token':
      return `${result.token}\n`;
    case 'json':
      return `${JSON.stringify({
        token: result.token,
        expires_at: result.expiresAt === undefined ? null : Math.floor(result.expiresAt / 1000),
      })}\n`;
    case 'exec-credential':
      return `${JSON.stringify({
        apiVersion: EXEC_CREDENTIAL_API_VERSION,
        kind: 'ExecCredential',
        status: {
          token: result.token,
          ...(result.expiresAt === undefined
            ? {}
            : { expirationTimestamp: new Date(result.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') }),
        },
      })}\n`;
    default:
      throw new UsageError(`unknown --format "${format}"`, { hint: 'use token, json or exec-credential' });
  }
}

export async function run(ctx: CliContext, options: TokenOptions): Promise<number> {
  const format = options.format ?? 'token';
  formatToken({ token: '', origin: 'memory' }, format); // validate before any work
  let minValidityMs: number | undefined;
  if (options.minValid !== undefined) {
    const s = Number(options.minValid);
    if (!Number.isFinite(s) || s < 0 || s > 86_400) {
      throw new UsageError(
        `--min-valid must be a number of seconds from 0 to 86400, got "${options.minValid}"`,
      );
    }
    minValidityMs = s * 1000;
  }
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  applyTlsFlags(provider, options);
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
  return 0;
}
