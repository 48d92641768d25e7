/**
 * `gatepass doctor`: the checks support asks for first, for the selected provider (--provider,
 * --config), as a table of small functions run in order (later ones reuse what earlier ones
 * found: an unreachable host is not probed again, the discovery document feeds the scope check).
 * Each result is pass / warn / fail (or skip when it does not apply) with a one-line fix. Never a
 * browser, never an interactive login, never a secret in the output.
 */
import type { GatepassConfig, Provider } from '../config/schema.js';
import { loadConfig, requireProvider, selectProvider } from '../config/store.js';
import { validateConfig } from '../config/validate.js';
import { describeError, GatepassError } from '../errors.js';
import { egressPlan } from '../net/egress.js';
import { resolveTls } from '../net/tls.js';
import type { RunEnv } from '../setup/common.js';
import {
  checkCallbackPort,
  checkConfig,
  checkGateway,
  checkHelpers,
  checkProxy,
  checkSecretStore,
  checkToken,
} from './checks-local.js';
import { checkDiscovery, checkDns, checkEgress, checkScopes, checkTcp, checkTls } from './checks-net.js';
import type { Check, CheckResult, CheckStatus, DoctorContext, DoctorHost } from './context.js';

/** The checks, in order; ids are part of the JSON contract. */
export const CHECKS: ReadonlyArray<readonly [id: string, check: Check]> = [
  ['config', checkConfig],
  ['egress_proxy', checkEgress],
  ['dns', checkDns],
  ['tcp', checkTcp],
  ['tls', checkTls],
  ['discovery', checkDiscovery],
  ['scopes', checkScopes],
  ['callback_port', checkCallbackPort],
  ['secret_store', checkSecretStore],
  ['token', checkToken],
  ['gateway', checkGateway],
  ['helpers', checkHelpers],
  ['proxy', checkProxy],
];

export interface DoctorReport {
  provider: string;
  checks: Array<{ id: string; status: CheckStatus; summary: string; fix?: string }>;
}

export interface DoctorOptions {
  /** --provider */
  provider?: string;
  /** This run's overrides of the provider (the CLI's --ca-file / --tls-skip-verify). */
  adjust?: (provider: Provider) => void;
  /** Per network operation (default 10 s). */
  timeoutMs?: number;
}

interface Loaded {
  config?: GatepassConfig;
  name: string;
  provider?: Provider;
  problem?: { summary: string; fix: string };
}

async function load(run: RunEnv, options: DoctorOptions): Promise<Loaded> {
  const file = run.paths.configFile;
  let config: GatepassConfig;
  try {
    const loaded = await loadConfig(file);
    if (!loaded.exists) {
      return {
        name: options.provider ?? 'default',
        problem: {
          summary: `no config file at ${file}`,
          fix: 'run `gatepass setup` (or `gatepass config set`)',
        },
      };
    }
    config = loaded.config;
  } catch (err) {
    const fix =
      err instanceof GatepassError && err.hint ? err.hint : 'fix the file, or `gatepass config set` it';
    return { name: options.provider ?? 'default', problem: { summary: describeError(err), fix } };
  }
  const name = selectProvider(config, options.provider).name;
  try {
    validateConfig(config, { full: true });
    const { provider } = requireProvider(config, options.provider, file);
    options.adjust?.(provider);
    return { config, name, provider };
  } catch (err) {
    const fix = err instanceof GatepassError && err.hint ? err.hint : 'fix it with `gatepass config set`';
    return { config, name, problem: { summary: describeError(err), fix } };
  }
}

function hostsOf(provider: Provider | undefined): DoctorHost[] {
  if (!provider) return [];
  const hosts: DoctorHost[] = [];
  if (provider.type === 'oidc' && provider.oidc.issuer)
    hosts.push({ role: 'IdP', url: new URL(provider.oidc.issuer) });
  if (provider.gateway_url) hosts.push({ role: 'gateway', url: new URL(provider.gateway_url) });
  return hosts;
}

export async function runDoctor(run: RunEnv, options: DoctorOptions = {}): Promise<DoctorReport> {
  const loaded = await load(run, options);
  const { provider } = loaded;
  const d: DoctorContext = {
    run,
    providerName: loaded.name,
    hosts: hostsOf(provider),
    unreachable: new Set(),
    timeoutMs: options.timeoutMs ?? 10_000,
    async fetch(url, init) {
      const { tlsFetch } = await import('../net/tls-fetch.js');
      const f = tlsFetch(d.tls, d.plan);
      d.fetch = (u, i) => f(u, i ?? {});
      return f(url, init ?? {});
    },
  };
  if (loaded.config) d.config = loaded.config;
  if (provider) {
    d.provider = provider;
    d.plan = egressPlan(provider.network, run.env);
    try {
      const tls = resolveTls(provider.tls, run.env);
      if (tls) d.tls = tls;
    } catch (err) {
      d.tlsProblem = describeError(err);
    }
  }
  if (loaded.problem) d.configProblem = loaded.problem;
  const checks: DoctorReport['checks'] = [];
  for (const [id, check] of CHECKS) {
    let r: CheckResult;
    try {
      r = await check(d);
    } catch (err) {
      r = {
        status: 'fail' as const,
        summary: `the check itself failed: ${describeError(err)}`,
        fix: 'report this with `gatepass doctor --json`',
      };
    }
    checks.push({ id, status: r.status, summary: r.summary, ...(r.fix ? { fix: r.fix } : {}) });
  }
  return { provider: loaded.name, checks };
}

/** One aligned line per check, then a tally. */
export function formatDoctor(r: DoctorReport): string[] {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = r.checks.map(
    (c) =>
      `${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.summary}${c.fix ? ` — fix: ${c.fix}` : ''}`,
  );
  const n = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
  lines.push(
    `provider ${r.provider}: ${n('pass')} passed, ${n('warn')} warnings, ${n('fail')} failed, ${n('skip')} skipped`,
  );
  return lines;
}
