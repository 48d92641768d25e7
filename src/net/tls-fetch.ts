/**
 * The undici side of the network options: an Agent with the TLS trust list, a ProxyAgent tunnelling
 * (HTTP CONNECT) through an egress proxy with the same trust list applied to the origin inside the
 * tunnel (and to an https proxy itself), and a fetch that picks one per request URL.
 */
import { Agent, type Dispatcher, fetch, ProxyAgent } from 'undici';
import { displayProxy, type EgressPlan, EgressProxyError } from './egress.js';
import type { ResolvedTls } from './tls-types.js';

function connectTls(tls: ResolvedTls | undefined): { rejectUnauthorized?: boolean; ca?: string[] } {
  if (!tls) return {};
  return { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}) };
}

export function tlsAgent(tls: ResolvedTls): Agent {
  return new Agent({ connect: connectTls(tls) });
}

/**
 * A dispatcher tunnelling through `proxy`: `tls` (the provider's CA bundle / skip-verify) applies to
 * the origin's certificate inside the tunnel, and to the proxy's own when it is an https:// proxy.
 * `options` are passed to the Agent behind it (timeouts, keep-alive).
 */
export function egressAgent(
  proxy: string,
  tls: ResolvedTls | undefined,
  options: { connectTimeoutMs?: number } & Omit<Agent.Options, 'connect'> = {},
): ProxyAgent {
  const { connectTimeoutMs, ...agentOptions } = options;
  const timeout = connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs };
  return new ProxyAgent({
    ...agentOptions,
    uri: proxy,
    requestTls: { ...connectTls(tls), ...timeout },
    proxyTls: { ...connectTls(tls), ...timeout },
  });
}

/** The dispatcher for `url` under `plan` (undefined: undici's default, no TLS options). */
export function dispatcherPicker(
  tls: ResolvedTls | undefined,
  plan: EgressPlan | undefined,
): (url: string) => { dispatcher: Dispatcher | undefined; proxy: string | undefined } {
  const direct = tls ? tlsAgent(tls) : undefined;
  const proxied = new Map<string, ProxyAgent>();
  return (url) => {
    const proxy = plan?.proxyFor(url);
    if (!proxy) return { dispatcher: direct, proxy: undefined };
    let agent = proxied.get(proxy);
    if (!agent) {
      agent = egressAgent(proxy, tls);
      proxied.set(proxy, agent);
    }
    return { dispatcher: agent, proxy };
  };
}

/**
 * A fetch (for openid-client's `customFetch`) honouring the TLS options and the egress proxy. A
 * failure to get through the proxy is wrapped in EgressProxyError naming it (never its credentials);
 * timeouts and aborts pass through unchanged.
 */
export function tlsFetch(
  tls: ResolvedTls | undefined,
  plan?: EgressPlan,
): (url: string, init: object) => Promise<Response> {
  const pick = dispatcherPicker(tls, plan);
  return async (url, init) => {
    const { dispatcher, proxy } = pick(url);
    try {
      return (await fetch(url, {
        ...init,
        ...(dispatcher ? { dispatcher } : {}),
      } as Parameters<typeof fetch>[1])) as unknown as Response;
    } catch (err) {
      const name = (err as Error)?.name;
      if (!proxy || name === 'AbortError' || name === 'TimeoutError') throw err;
      throw new EgressProxyError(displayProxy(proxy), err, plan?.source);
    }
  };
}
