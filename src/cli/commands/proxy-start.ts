/**
 * `gatepass proxy start`, once the config is known: foreground (the proxy in this process) or
 * background (a detached child, waited for and recorded in the state file). Two callers resolve the
 * config first: the full CLI (commands/proxy.ts: the YAML file) and the lean proxy entry
 * (fast-proxy.ts: the config's JSON snapshot, without commander or the YAML parser, so the proxy
 * that stays running does not carry them). Nothing here may import config/store.ts or commander:
 * test/integration/proxy-lean-entry.test.ts checks what the lean entry loads. The background start
 * (proxy-background.ts) and the TLS flags' parser are imported only when used.
 */
import path from 'node:path';
import { createTokenSource } from '../../auth/factory.js';
import { loginTimeoutMs } from '../../auth/oidc/timeouts.js';
import type { GatepassConfig, Provider } from '../../config/schema.js';
import { DEFAULT_COMMAND_TIMEOUT_S, effectiveProxyPort } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { displayProxy, egressPlan } from '../../net/egress.js';
import { resolveTls, warnSkipVerify } from '../../net/tls.js';
import { createErrorLog } from '../../proxy/error-log.js';
import { DEFAULT_TOKEN_WAIT_MS, loginBudgetMs, startProxy } from '../../proxy/server.js';
import { NONCE_ENV, readProxyState, removeProxyState } from '../../proxy/state.js';
import { getOrCreateLocalProxyKey } from '../../secrets/local-key.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

export interface StartOptions {
  port?: string;
  background?: boolean;
  skipBrowser?: boolean;
  caFile?: string;
  tlsSkipVerify?: boolean;
}

export function parsePort(value: string | undefined, background: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  const min = background ? 1 : 0;
  if (!Number.isInteger(n) || n < min || n > 65535) {
    throw new UsageError(`--port must be a number from ${min} to 65535, got "${value}"`);
  }
  return n;
}

/** The config `proxy start` runs with: the whole (merged) config and the selected, usable provider. */
export interface StartConfig {
  config: GatepassConfig;
  name: string;
  provider: Provider;
}

/**
 * `gatepass proxy start` with the config from `resolveConfig` (called once the options are
 * checked, as the full command always did: a bad --port is reported before a bad config).
 */
export async function startProxyCommand(
  ctx: CliContext,
  options: StartOptions,
  resolveConfig: () => Promise<StartConfig>,
): Promise<number> {
  // A background proxy's nonce (from its parent): kept in memory only, taken out of the environment
  // before anything (a token_command) could inherit it.
  const nonce = ctx.env[NONCE_ENV];
  delete ctx.env[NONCE_ENV];
  delete process.env[NONCE_ENV];
  const background = Boolean(options.background);
  const portFlag = parsePort(options.port, background);
  const { config, name, provider } = await resolveConfig();
  // One-off TLS flags: their parser (the config field checks) loads only when one is given.
  if (options.caFile !== undefined || options.tlsSkipVerify)
    (await import('../tls-flags.js')).applyTlsFlags(provider, options);
  if (provider.tls?.skip_verify) warnSkipVerify(ctx.stderr, `proxy to ${provider.gateway_url}`);
  const port = portFlag ?? effectiveProxyPort(config);
  if (background) {
    // The child re-reads the config; one-off TLS flags travel on its command line.
    const tlsArgs = [
      ...(options.caFile !== undefined ? ['--ca-file', provider.tls!.ca_file!] : []),
      ...(options.tlsSkipVerify ? ['--tls-skip-verify'] : []),
    ];
    const { startBackground } = await import('./proxy-background.js');
    return startBackground(ctx, {
      port,
      provider: name,
      skipBrowser: Boolean(options.skipBrowser),
      extraArgs: tlsArgs,
    });
  }
  return runForeground(ctx, options, { config, name, provider }, port, nonce);
}

/** The proxy in this process, until SIGINT / SIGTERM. */
async function runForeground(
  ctx: CliContext,
  options: StartOptions,
  { config, name, provider }: StartConfig,
  port: number,
  nonce: string | undefined,
): Promise<number> {
  const auth = await buildAuthContext(ctx, {
    config,
    interactive: true,
    skipBrowser: Boolean(options.skipBrowser),
  });
  let tokenSource = await createTokenSource(auth, name, provider);
  // A lazy setup's deferred model discovery, after the first token (lazy-fill.ts).
  if (provider.models_pending)
    tokenSource = (await import('../../setup/lazy-fill.js')).withPendingModels(auth, tokenSource);
  const localKey = await getOrCreateLocalProxyKey(auth.secrets);
  const tls = resolveTls(provider.tls, ctx.env);
  // HTTPS_PROXY / network.proxy for the gateway hop (NO_PROXY and loopback gateways go direct).
  const egressProxy = egressPlan(provider.network, ctx.env).proxyFor(provider.gateway_url!);
  if (egressProxy) ctx.logger.debug(`proxy: gateway requests go through ${displayProxy(egressProxy)}`);
  // The background proxy (it has a nonce) records the errors it makes in proxy.log, without -v.
  const isChild = Boolean(nonce && /^[0-9a-f]{32,128}$/.test(nonce));
  // #20 MCP hook: the `/mcp/NAME` route for the MCP servers added for this provider.
  const mcp = await (await import('../../mcp/proxy-option.js')).mcpProxyRoute(
    auth,
    config,
    name,
    provider,
    tokenSource,
    ctx.logger,
  );
  const proxy = await startProxy({
    ...(mcp ? { mcp } : {}),
    ...(isChild
      ? { controlNonce: nonce!, errorLog: createErrorLog(path.join(ctx.paths.stateDir, 'proxy.log')) }
      : {}),
    ...(tls ? { tls } : {}),
    ...(egressProxy ? { egressProxy } : {}),
    tokenSource,
    gatewayUrl: provider.gateway_url!,
    pathPrefixes: {
      ...(provider.anthropic_path_prefix ? { anthropic: provider.anthropic_path_prefix } : {}),
      ...(provider.openai_path_prefix ? { openai: provider.openai_path_prefix } : {}),
    },
    port,
    localKey,
    logger: ctx.logger,
    providerName: name,
    interactive: true,
    // A request waiting for a lazy login is never cut off before the login's own timeout.
    tokenWaitMs: Math.max(
      DEFAULT_TOKEN_WAIT_MS,
      loginBudgetMs(
        provider.type === 'command'
          ? (provider.auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000
          : loginTimeoutMs(ctx.env),
      ),
    ),
  });
  ctx.logger.info(
    `gatepass proxy listening on ${proxy.url} (provider "${name}", gateway ${new URL(provider.gateway_url!).origin})`,
  );
  ctx.logger.debug(`proxy: bound ${proxy.addresses.join(', ')}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second Ctrl-C while draining exits at once. Some listener must stay for SIGTERM too:
      // signal-exit (loaded by the file lock after a login) re-raises a signal nobody else handles,
      // which would kill the proxy mid-drain.
      process.once('SIGINT', () => process.exit(130));
      process.on('SIGTERM', () => {});
      resolve(s);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  ctx.logger.info(`gatepass proxy: ${signal}, shutting down`);
  await proxy.close(5_000);
  const state = await readProxyState(ctx.paths);
  if (state?.pid === process.pid) await removeProxyState(ctx.paths);
  return 0;
}
