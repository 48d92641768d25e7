/**
 * Gateway layout detection: does the gateway serve the Anthropic API under `/anthropic` (and the
 * OpenAI-style API under `/openai`)? Short HEAD requests (≤ 2 s) to the prefixed and the plain
 * endpoint answer it: a prefix only when the plain path is 404 and the prefixed one is not. No answer
 * at all (timeout, TLS, DNS) means "no prefix", with a warning from the caller; the probe only
 * reads, so `--dry-run` runs it too.
 */
// Static import: setup is loaded lazily anyway, and a dynamic import of undici loses its named
// exports in the esbuild bundle.
import { type Dispatcher, request } from 'undici';
import type { Logger } from '../log.js';
import { displayProxy, egressFailureReason } from '../net/egress.js';
import { tlsErrorCode, tlsHint } from '../net/tls.js';

export const PROBE_TIMEOUT_MS = 2000;
export const ANTHROPIC_PREFIX = '/anthropic';
export const OPENAI_PREFIX = '/openai';

/** HEAD `url`; resolves to the HTTP status, or undefined when there was no answer. */
export type Prober = (url: string) => Promise<number | undefined>;

/** `dispatcher`: an undici Agent carrying the TLS settings (extra CA, skip-verify) to probe with. */
export function headProber(
  logger: Logger,
  options: { timeoutMs?: number; dispatcher?: Dispatcher; egressProxy?: string } = {},
): Prober {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  let warnedTls = false;
  let warnedProxy = false;
  return async (url) => {
    try {
      const res = await request(url, {
        method: 'HEAD',
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump().catch(() => {});
      logger.debug(`probe HEAD ${url}: ${res.statusCode}`);
      return res.statusCode;
    } catch (err) {
      const code = tlsErrorCode(err);
      if (code && !warnedTls) {
        // Not a silent "no prefix": the tools would be wired against the wrong URL and fail the same way.
        warnedTls = true;
        logger.warn(
          `could not detect the gateway's path prefixes: TLS verification of ${new URL(url).origin} failed (${code}); ${tlsHint()}`,
        );
      } else if (options.egressProxy && !warnedProxy && (err as Error)?.name !== 'TimeoutError') {
        warnedProxy = true;
        logger.warn(
          `could not detect the gateway's path prefixes: ${new URL(url).origin} is not reachable through the proxy ${displayProxy(options.egressProxy)} (${egressFailureReason(err)})`,
        );
      }
      logger.debug(`probe HEAD ${url} failed (${(err as Error).message}); assuming no path prefix`);
      return undefined;
    }
  };
}

function join(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/**
 * Which of two paths the gateway routes: `prefix` when `<gateway><prefix><path>` exists and the plain
 * `<gateway><path>` does not (404); '' otherwise — most gateways answer 401 on every path before
 * routing, which says nothing about either, so that keeps the plain layout. Undefined when the
 * gateway did not answer at all.
 */
async function probePrefix(
  gatewayUrl: string,
  probe: Prober,
  prefix: string,
  path: string,
): Promise<string | undefined> {
  const [prefixed, plain] = await Promise.all([
    probe(join(gatewayUrl, `${prefix}${path}`)),
    probe(join(gatewayUrl, path)),
  ]);
  if (prefixed === undefined && plain === undefined) return undefined;
  if (prefixed === undefined || prefixed === 404) return '';
  return plain === 404 || plain === undefined ? prefix : '';
}

/** '/anthropic' when `<gateway>/anthropic/v1/messages` is routed and `<gateway>/v1/messages` is not. */
export function probeAnthropicPrefix(gatewayUrl: string, probe: Prober): Promise<string | undefined> {
  return probePrefix(gatewayUrl, probe, ANTHROPIC_PREFIX, '/v1/messages');
}

/** '/openai' when `<gateway>/openai/v1/models` is routed and `<gateway>/v1/models` is not. */
export function probeOpenAIPrefix(gatewayUrl: string, probe: Prober): Promise<string | undefined> {
  return probePrefix(gatewayUrl, probe, OPENAI_PREFIX, '/v1/models');
}
