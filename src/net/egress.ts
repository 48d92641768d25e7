/**
 * Egress proxies: which outbound requests go through an HTTP(S) proxy, and which one. Pure and
 * free of undici (config show and validation use it); `egress-agent.ts` turns a decision into an
 * undici dispatcher.
 *
 * Sources, first match wins: the provider's `network.proxy` (a URL, or `direct` for none) and
 * `network.no_proxy`, then the environment — `https_proxy`/`HTTPS_PROXY` for https URLs (falling
 * back to the http one, as undici's EnvHttpProxyAgent does), `http_proxy`/`HTTP_PROXY` for http,
 * `no_proxy`/`NO_PROXY` (lower case first, as curl and undici read them). Loopback hosts are never
 * proxied. NO_PROXY entries: `*`; a host name, matching itself and every subdomain; `.suffix` or
 * `*.suffix`, the same; an IP address; an IPv4/IPv6 CIDR block; any of them with `:port`.
 */
import net from 'node:net';
import { type NoProxyRule, parseNoProxy } from '../config/egress-syntax.js';
import { registerSecret } from '../redact.js';

export { checkNoProxy, checkProxyUrl, type NoProxyRule, parseNoProxy } from '../config/egress-syntax.js';

/** localhost, 127.0.0.0/8, ::1 (not config/validate.ts's isLoopbackHost: no validation code here). */
function isLoopback(hostname: string): boolean {
  const h = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = net.isIP(h);
  return family === 4 ? h.startsWith('127.') : family === 6 && LOOPBACK6.check(h, 'ipv6');
}
const LOOPBACK6 = new net.BlockList();
LOOPBACK6.addAddress('::1', 'ipv6');

export interface NetworkSettings {
  /** Proxy URL for every IdP and gateway request of the provider, or `direct`; wins over the env. */
  proxy?: string;
  /** Hosts never proxied (NO_PROXY syntax, comma separated); replaces NO_PROXY when set. */
  no_proxy?: string;
}

/** Does a NO_PROXY rule list exempt `hostname` (as in a URL: IPv6 in brackets) on `port`? */
export function matchesNoProxy(rules: readonly NoProxyRule[], hostname: string, port: number): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  const family = net.isIP(host);
  return rules.some((r) => {
    if (r.any) return true;
    if (r.port !== undefined && r.port !== port) return false;
    if (r.block) return family !== 0 && r.block.check(host, family === 6 ? 'ipv6' : 'ipv4');
    return r.host !== undefined && (host === r.host || host.endsWith(`.${r.host}`));
  });
}

export interface EgressPlan {
  /** The proxy URL for `url`, or undefined for a direct connection. */
  proxyFor(url: URL | string): string | undefined;
  /** Any proxy configured at all (so a fetch needs the routing dispatcher). */
  readonly active: boolean;
  /** Where the proxy setting came from, for messages. */
  readonly source: 'config' | 'environment' | 'none';
}

const envOf = (env: NodeJS.ProcessEnv, name: string): string | undefined =>
  env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;

const defaultPort = (url: URL): number =>
  url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

/** Decide, per URL, which proxy (if any) an outbound request of this provider goes through. */
export function egressPlan(network: NetworkSettings | undefined, env: NodeJS.ProcessEnv): EgressPlan {
  const configured = network?.proxy?.trim();
  const direct = configured === 'direct';
  let https: string | undefined;
  let http: string | undefined;
  let source: EgressPlan['source'] = 'none';
  if (configured && !direct) {
    https = http = configured;
    source = 'config';
  } else if (!direct) {
    http = envOf(env, 'http_proxy');
    https = envOf(env, 'https_proxy') ?? http;
    if (http || https) source = 'environment';
  }
  for (const p of [http, https]) registerProxyCredentials(p);
  const rules = parseNoProxy(network?.no_proxy ?? envOf(env, 'no_proxy'));
  return {
    active: Boolean(http || https),
    source,
    proxyFor(input) {
      const url = typeof input === 'string' ? new URL(input) : input;
      const proxy = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
      if (!proxy || isLoopback(url.hostname)) return undefined;
      return matchesNoProxy(rules, url.hostname, defaultPort(url)) ? undefined : proxy;
    },
  };
}

/** The proxy URL for display: credentials replaced, never printed. */
export function displayProxy(proxy: string): string {
  if (proxy === 'direct') return proxy;
  try {
    const url = new URL(proxy);
    const masked = url.username || url.password;
    url.username = '';
    url.password = '';
    const text = url.href.replace(/\/$/, '');
    return masked ? text.replace('://', '://***@') : text;
  } catch {
    return '(unparsable proxy URL)';
  }
}

/** Make sure a proxy password (and its Basic header form) never reaches a log line or an error. */
export function registerProxyCredentials(proxy: string | undefined): void {
  if (!proxy) return;
  try {
    const url = new URL(proxy);
    if (!url.password) return;
    registerSecret(url.password);
    registerSecret(decodeURIComponent(url.password));
    const basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    registerSecret(basic);
    registerSecret(Buffer.from(basic).toString('base64'));
  } catch {
    // not a URL: validation reports it
  }
}

/**
 * A request could not get through the egress proxy (proxy down, refused the tunnel, needs other
 * credentials). `proxy` is the display form (no credentials); `cause` the underlying error.
 */
export class EgressProxyError extends Error {
  readonly proxy: string;
  /** The network error code (ECONNREFUSED, UND_ERR_…) or the proxy's tunnel status, e.g. "HTTP 407". */
  readonly reason: string;
  /** Where the proxy setting came from (for the hint). */
  readonly source: EgressPlan['source'];
  constructor(proxy: string, cause: unknown, source: EgressPlan['source'] = 'environment') {
    const reason = egressFailureReason(cause);
    super(`could not get through the proxy ${proxy} (${reason})`, { cause });
    this.name = 'EgressProxyError';
    this.proxy = proxy;
    this.reason = reason;
    this.source = source;
  }
}

/** "ECONNREFUSED", or the status the proxy answered CONNECT with ("HTTP 407"). */
export function egressFailureReason(err: unknown): string {
  let cur: unknown = err;
  let code: string | undefined;
  for (let i = 0; i < 8 && cur; i++) {
    const message = String((cur as Error).message ?? '');
    const status = /Proxy response \((\d{3})\)/.exec(message) ?? /\((407)\)/.exec(message);
    if (status) return `the proxy answered the tunnel request with HTTP ${status[1]}`;
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && !code && c !== 'UND_ERR_ABORTED') code = c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return code ?? 'error';
}

/** The hint after an egress failure. */
export function egressHint(source: EgressPlan['source']): string {
  return source === 'config'
    ? 'check that the proxy is running and reachable (`gatepass config set --egress-proxy …`, or `direct`); hosts in --no-proxy bypass it'
    : 'check that the proxy in HTTPS_PROXY / HTTP_PROXY is running and reachable; hosts in NO_PROXY bypass it (`gatepass config set --egress-proxy` overrides the environment)';
}
