/**
 * `gatepass doctor`'s shared state: the selected provider (with this run's --ca-file /
 * --tls-skip-verify applied), the hosts it talks to (IdP, gateway), what earlier checks found that
 * later ones need (unreachable hosts, the discovery document, the secret store), and the result
 * type every check returns. Checks are small functions over this context (checks-*.ts).
 */
import type { GatepassConfig, Provider } from '../config/schema.js';
import type { EgressPlan } from '../net/egress.js';
import type { ResolvedTls } from '../net/tls.js';
import type { SecretStore } from '../secrets/types.js';
import type { RunEnv } from '../setup/common.js';

/** `skip`: not applicable to this provider, or blocked by an earlier failure (never fails the run). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** One line, no secrets, server text stripped of control characters. */
  summary: string;
  /** One line: what to do about it (warn and fail only). */
  fix?: string;
}

export interface DoctorHost {
  role: 'IdP' | 'gateway';
  url: URL;
}

export interface DoctorContext {
  run: RunEnv;
  providerName: string;
  /** Undefined when the config could not be loaded or has no such provider (the config check fails). */
  config?: GatepassConfig;
  provider?: Provider;
  /** Why the config or provider is unusable (the config check reports it). */
  configProblem?: { summary: string; fix: string };
  hosts: DoctorHost[];
  plan?: EgressPlan;
  tls?: ResolvedTls;
  /** Why the TLS options could not be resolved (an unreadable CA bundle). */
  tlsProblem?: string;
  /** Hosts (origin) a network check found unreachable: later checks skip them. */
  unreachable: Set<string>;
  /** The discovery document's fields doctor uses (null: discovery failed). */
  discovery?: { issuer: unknown; scopes_supported: unknown } | null;
  store?: SecretStore;
  /** Per network operation. */
  timeoutMs: number;
  /** The fetch through the provider's TLS options and egress proxy (created on first use). */
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

export type Check = (d: DoctorContext) => Promise<CheckResult>;

export const pass = (summary: string): CheckResult => ({ status: 'pass', summary });
export const warn = (summary: string, fix: string): CheckResult => ({ status: 'warn', summary, fix });
export const fail = (summary: string, fix: string): CheckResult => ({ status: 'fail', summary, fix });
export const skip = (summary: string): CheckResult => ({ status: 'skip', summary });

/** `https://host:port` without credentials, for messages. */
export function hostLabel(h: DoctorHost): string {
  return `${h.role} ${h.url.host}`;
}
