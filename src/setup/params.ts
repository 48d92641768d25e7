/**
 * Setup step 3, the values to write: the secret store, the local proxy key (generated now when
 * there is none, stored only at commit), the gateway layout (prefixes, models, Bedrock), the launcher
 * the tools run and the `WireParams` every tool module writes from.
 */
import { effectiveProxyPort } from '../config/schema.js';
import { expandHome, warnSkipVerify } from '../net/tls.js';
import { registerSecret } from '../redact.js';
import { generateLocalProxyKey, getLocalProxyKey } from '../secrets/local-key.js';
import type { ToolModule, WireParams } from '../tools/index.js';
import { launcherPath } from '../tools/launcher.js';
import { resolveSelf } from '../tools/self.js';
import { HELPER_TTL_MS, helperTimeoutMs, openStore, pinnedArgs, type RunEnv } from './common.js';
import { resolveLayout } from './layout.js';
import type { SetupConfig, SetupOptions, Wiring } from './setup-state.js';

export async function prepareWiring(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  tools: ToolModule[],
): Promise<Wiring> {
  const { loaded, merged, providerName, provider, assignments } = config;
  const proxyTools = tools.filter((t) => t.mode === 'proxy');
  const { store, proxyKey, createdKey } = await localProxyKey(run, options, proxyTools);
  const gatewayUrl = provider.gateway_url!;
  const layout = await resolveLayout(
    run,
    provider,
    loaded.config.providers[providerName]?.gateway_url,
    assignments,
    tools,
    {
      ...(options.bedrockCompat !== undefined ? { bedrockCompat: options.bedrockCompat } : {}),
      ...(options.probe ? { probe: options.probe } : {}),
    },
  );
  const toPersist = [...assignments, ...layout.persist];
  const base = gatewayUrl.replace(/\/+$/, '');
  // Tools start gatepass through the launcher (rewritten below to point at this gatepass), pinned to
  // the config file and provider of this setup: `--config alt.yaml --provider work` is what they get.
  const self = options.self ?? resolveSelf();
  const pinned = pinnedArgs(run, providerName);
  const params: WireParams = {
    gatewayUrl,
    proxyUrl: `http://127.0.0.1:${effectiveProxyPort(merged)}`,
    proxyKey,
    self: { command: launcherPath(run.paths.dataDir, run.platform), args: pinned },
    helperTtlMs: HELPER_TTL_MS,
    helperTimeoutMs: helperTimeoutMs(run.env, provider),
    anthropicUrl: `${base}${layout.anthropicPrefix}`,
    openaiUrl: `${base}${layout.openaiPrefix}`,
    models: layout.models,
    modelTiers: provider.models_discovered === true && !assignments.some((a) => a.spec.key === 'models'),
    ...(provider.api_type ? { gatewayApi: provider.api_type } : {}),
    bedrockCompat: layout.bedrockCompat,
    helperDir: run.paths.dataDir,
    ...(provider.tls?.ca_file ? { caFile: expandHome(provider.tls.ca_file, run.home) } : {}),
    ...(provider.tls?.skip_verify ? { tlsSkipVerify: true } : {}),
    // #20 telemetry hook: Claude Code's OTel exporter + otelHeadersHelper (tools/claude-otel.ts).
    ...(provider.otel?.endpoint ? { otelEndpoint: provider.otel.endpoint } : {}),
  };
  if (provider.tls?.skip_verify) warnSkipVerify(run.stderr, `setup of provider "${providerName}"`);
  return {
    store,
    proxyKey,
    createdKey,
    proxyTools,
    toPersist,
    self,
    params,
    ...(options.keepUserModels ? { keepUserModels: true } : {}),
  };
}

/** The secret store setup uses, and the local proxy key (when a proxy-mode tool is wired). */
async function localProxyKey(
  run: RunEnv,
  options: SetupOptions,
  proxyTools: ToolModule[],
): Promise<Pick<Wiring, 'store' | 'proxyKey' | 'createdKey'>> {
  // A dry run reads the local proxy key (to diff against it) and never writes to the store.
  const store = options.dryRun
    ? proxyTools.length
      ? await openStore(run, { readOnly: true })
      : undefined
    : proxyTools.length || !options.lazy
      ? await openStore(run)
      : undefined;
  let proxyKey = '';
  let createdKey = false;
  if (proxyTools.length && store) {
    const existing = await getLocalProxyKey(store);
    if (existing) proxyKey = existing;
    else {
      // Generated now for planning, stored only when the files are written (never on a dry run).
      proxyKey = generateLocalProxyKey();
      registerSecret(proxyKey);
      createdKey = true;
    }
  }
  return { store, proxyKey, createdKey };
}

/** The parameters one tool gets. */
export function toolParams(tool: ToolModule, params: WireParams): WireParams {
  // Codex speaks the OpenAI Responses API under /v1 of the gateway (after its OpenAI path prefix).
  return tool.id === 'codex' ? { ...params, gatewayUrl: `${params.openaiUrl}/v1` } : params;
}
