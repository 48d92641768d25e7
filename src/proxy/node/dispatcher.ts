/**
 * The node engine's connection to the gateway: a keep-alive undici Pool, or undici's ProxyAgent
 * tunnelling through the egress proxy when one applies to the gateway. undici (about 1 MB of code,
 * several MiB of RSS) loads only here, on demand: the wire engine's idle proxy does not carry it.
 */
import type { Dispatcher } from 'undici';
import type { ProxySettings } from '../options.js';

/**
 * undici, loaded on demand. Bundled, a CommonJS package imported dynamically has only a default
 * export (esbuild's chunk): take the named exports from it then.
 */
async function loadUndici(): Promise<typeof import('undici')> {
  const m = (await import('undici')) as typeof import('undici') & { default?: typeof import('undici') };
  return typeof m.Pool === 'function' ? m : m.default!;
}

/** The dispatcher the node engine sends through; undefined for the wire engine (it has its own pool). */
export async function gatewayDispatcher(s: ProxySettings): Promise<Dispatcher | undefined> {
  const { engine, egress, connectTimeoutMs, gatewayTls } = s;
  const options = s.options;
  const upstreamTimeout = s.upstreamTimeoutMs;
  const origin = s.gateway.origin;
  const poolOptions = {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: upstreamTimeout,
    bodyTimeout: upstreamTimeout,
  };
  // undici (about 1 MB of code, several MiB of RSS) loads only for the node engine: the wire
  // engine's idle proxy does not carry it.
  if (engine === 'wire') return undefined;
  return egress
    ? (await import('../../net/tls-fetch.js')).egressAgent(egress, options.tls, {
        ...poolOptions,
        connectTimeoutMs,
      })
    : new (await loadUndici()).Pool(origin, {
        ...poolOptions,
        connect: { timeout: connectTimeoutMs, ...gatewayTls },
      });
}
