/**
 * Gateway layout detection: does the gateway serve the Anthropic API under `/anthropic` (and the
 * OpenAI-style API under `/openai`)? A short HEAD request (≤ 2 s) to the prefixed endpoint answers
 * it: anything but 404 means the prefixed route exists. Failures (timeout, TLS, DNS) mean "no
 * prefix" and are logged at debug level; the probe only reads, so `--dry-run` runs it too.
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
 * '/anthropic' when `<gateway>/anthropic/v1/messages` exists, '' when it does not, undefined when
 * the gateway did not answer (then: no prefix, but nothing learnt worth remembering).
 */
export async function probeAnthropicPrefix(gatewayUrl: string, probe: Prober): Promise<string | undefined> {
  const status = await probe(join(gatewayUrl, `${ANTHROPIC_PREFIX}/v1/messages`));
  if (status === undefined) return undefined;
  return status !== 404 ? ANTHROPIC_PREFIX : '';
}

/**
 * '/openai' when `<gateway>/openai/v1/models` exists and `<gateway>/v1/models` does not (404);
 * else ''. A gateway answering both (say, 401 before routing) keeps the plain layout. Undefined
 * when the gateway did not answer at all.
 */
export async function probeOpenAIPrefix(gatewayUrl: string, probe: Prober): Promise<string | undefined> {
  const [prefixed, plain] = await Promise.all([
    probe(join(gatewayUrl, `${OPENAI_PREFIX}/v1/models`)),
    probe(join(gatewayUrl, '/v1/models')),
  ]);
  if (prefixed === undefined && plain === undefined) return undefined;
  if (prefixed === undefined || prefixed === 404) return '';
  return plain === 404 || plain === undefined ? OPENAI_PREFIX : '';
}
