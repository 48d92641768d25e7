/**
 * The gateway layout and model settings a setup run wires: Anthropic / OpenAI path prefixes (given,
 * remembered from an earlier run against the same gateway, or probed), the model list and
 * `--bedrock-compat`. Returns the values plus the config assignments that persist them.
 */
import type { FieldAssignment } from '../config/edit.js';
import type { Provider } from '../config/schema.js';
import { findField } from '../config/validate.js';
import { displayProxy, egressPlan } from '../net/egress.js';
import { resolveTls } from '../net/tls.js';
import { egressAgent, tlsAgent } from '../net/tls-fetch.js';
import type { ToolModule } from '../tools/types.js';
import type { RunEnv } from './common.js';
import { isPlaceholderHost } from './preflight.js';
import { headProber, type Prober, probeAnthropicPrefix, probeOpenAIPrefix } from './probe.js';

export interface Layout {
  anthropicPrefix: string;
  openaiPrefix: string;
  models: string[];
  bedrockCompat: boolean;
  /** Assignments to persist with the rest of setup's config changes (value undefined = remove). */
  persist: FieldAssignment[];
}

export interface LayoutOptions {
  /** `--bedrock-compat` (true) / `--no-bedrock-compat` (false); absent: the saved setting. */
  bedrockCompat?: boolean;
  probe?: Prober;
}

const ANTHROPIC_TOOLS = new Set(['claude', 'claude-desktop']);

export async function resolveLayout(
  run: RunEnv,
  provider: Provider,
  previousGatewayUrl: string | undefined,
  assignments: FieldAssignment[],
  tools: ToolModule[],
  options: LayoutOptions,
): Promise<Layout> {
  const { probe, agent, unreachable } = layoutProbe(run, provider, options);
  const gateway = provider.gateway_url!;
  const sameGateway = previousGatewayUrl === gateway;
  const given = (key: string) => assignments.some((a) => a.spec.key === key);
  const persist: FieldAssignment[] = [];
  const set = (key: string, value: unknown) => persist.push({ spec: findField(key)!, value });

  type Found = { value: string; persist?: { value: string | undefined } };
  async function prefix(
    key: 'anthropic_path_prefix' | 'openai_path_prefix',
    needed: boolean,
    detect: (url: string, p: Prober) => Promise<string | undefined>,
  ): Promise<Found> {
    const current = provider[key];
    if (current !== undefined && (given(key) || sameGateway)) return { value: current };
    // Saved for another gateway: forget it unless probed anew below.
    const forget = current !== undefined ? { persist: { value: undefined } } : {};
    if (!needed) return { value: '', ...forget };
    // A placeholder host (the quick start's dry run, tests) is nobody's gateway: not probed.
    if (isPlaceholderHost(new URL(gateway).hostname)) return { value: '', ...forget };
    const found = await detect(gateway, probe);
    if (found === undefined) {
      // Unreachable now (VPN down?): wire without a prefix, say so, and probe again next setup.
      if (!unreachable.warned) {
        unreachable.warned = true;
        run.logger.warn(
          `could not reach the gateway at ${gateway} to detect its path prefixes; wiring it without one (setup probes again next time; give --anthropic-path-prefix / --openai-path-prefix if it needs one)`,
        );
      }
      return { value: '', ...forget };
    }
    run.logger.debug(`gateway layout: ${key} = ${JSON.stringify(found)} (probed)`);
    if (found) {
      const api = key === 'anthropic_path_prefix' ? 'Anthropic' : 'OpenAI-style';
      run.logger.info(
        `The gateway serves its ${api} API under ${found} (detected; set it with --${key.replace(/_/g, '-')}).`,
      );
    }
    return { value: found, persist: { value: found } };
  }

  // Both probes at once: at most one 2-second wait in all.
  const [anthropic, openai] = await Promise.all([
    prefix(
      'anthropic_path_prefix',
      tools.some((t) => ANTHROPIC_TOOLS.has(t.id)),
      probeAnthropicPrefix,
    ),
    prefix(
      'openai_path_prefix',
      tools.some((t) => t.id === 'codex' || t.mode === 'proxy'),
      probeOpenAIPrefix,
    ),
  ]).finally(() => agent?.destroy().catch(() => {}));
  if (anthropic.persist) set('anthropic_path_prefix', anthropic.persist.value);
  if (openai.persist) set('openai_path_prefix', openai.persist.value);
  const anthropicPrefix = anthropic.value;
  const openaiPrefix = openai.value;

  const { bedrockCompat, models } = bedrockSetting(run, provider, options, set);
  return { anthropicPrefix, openaiPrefix, models, bedrockCompat, persist };
}

/**
 * The gateway probe: it trusts what the tools are told to trust and goes the way they go; a probe
 * that already said why it could not reach the gateway (TLS) sets `unreachable.warned`.
 */
function layoutProbe(run: RunEnv, provider: Provider, options: LayoutOptions) {
  // The probe trusts what the tools are told to trust: the provider's CA bundle / skip-verify.
  const tls = options.probe ? undefined : resolveTls(provider.tls, run.env);
  // …and goes through the egress proxy (network.proxy / HTTPS_PROXY) unless NO_PROXY exempts it.
  const egress = options.probe
    ? undefined
    : egressPlan(provider.network, run.env).proxyFor(provider.gateway_url!);
  const agent = egress ? egressAgent(egress, tls) : tls ? tlsAgent(tls) : undefined;
  // A prober that already said why (TLS) makes the "could not reach" warning below redundant.
  const unreachable = { warned: false };
  const probeLogger = {
    debug: (m: string) => run.logger.debug(m),
    info: (m: string) => run.logger.info(m),
    error: (m: string) => run.logger.error(m),
    warn: (m: string) => {
      unreachable.warned = true;
      run.logger.warn(m);
    },
    verbose: run.logger.verbose,
  };
  const probe =
    options.probe ??
    headProber(probeLogger, {
      ...(agent ? { dispatcher: agent } : {}),
      ...(egress ? { egressProxy: egress } : {}),
    });
  return { probe, agent, unreachable };
}

/** `--bedrock-compat` / `--no-bedrock-compat` against the saved setting (`set` records a change). */
function bedrockSetting(
  run: RunEnv,
  provider: Provider,
  options: LayoutOptions,
  set: (key: string, value: unknown) => void,
): { bedrockCompat: boolean; models: string[] } {
  // Saved like the other inline settings and kept by later runs; --no-bedrock-compat (or
  // `config unset bedrock_compat`) turns it off, and the next setup removes its keys again.
  const bedrockCompat = options.bedrockCompat ?? provider.bedrock_compat === true;
  if (options.bedrockCompat === true && provider.bedrock_compat !== true) set('bedrock_compat', true);
  if (options.bedrockCompat === false && provider.bedrock_compat !== undefined)
    set('bedrock_compat', undefined);
  const models = provider.models ?? [];
  if (bedrockCompat && !models.some((m) => /haiku|sonnet|opus/i.test(m))) {
    run.logger.warn(
      'bedrock_compat: no haiku/sonnet/opus model in --models, so Claude Code keeps its default model names',
    );
  }
  return { bedrockCompat, models };
}

/**
 * Tools wired in direct mode (token helper) call the gateway themselves, so gatepass' egress proxy
 * setting does not reach them: they read HTTPS_PROXY / NO_PROXY from their own environment (Claude
 * Code and Codex do). Lines for setup's output, when a proxy applies to the gateway.
 */
export function egressNotice(provider: Provider, env: NodeJS.ProcessEnv, tools: ToolModule[]): string[] {
  if (!provider.gateway_url) return [];
  const plan = egressPlan(provider.network, env);
  const proxy = plan.proxyFor(provider.gateway_url);
  const direct = tools.filter((t) => t.mode === 'direct').map((t) => t.name);
  if (!proxy || direct.length === 0) return [];
  const shown = displayProxy(proxy);
  const [who, verb, self] =
    direct.length === 1 ? [direct[0]!, 'reaches', 'itself'] : [direct.join(', '), 'reach', 'themselves'];
  return [
    plan.source === 'config'
      ? `${who} ${verb} the gateway ${self}, not through gatepass, and needs the egress proxy in its environment too: add \`export HTTPS_PROXY=${shown}\` (with your proxy credentials, if any) and NO_PROXY to your shell profile.`
      : `${who} ${verb} the gateway ${self} through HTTPS_PROXY (${shown}): keep it (and NO_PROXY) set in the environment ${direct.length === 1 ? 'it starts' : 'they start'} from.`,
  ];
}
