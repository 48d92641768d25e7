/**
 * The errors the proxy makes itself when it cannot forward (both engines): the 401 message for a
 * token it could not get, and the status, kind and message for a gateway it could not reach (TLS,
 * protocol, timeout, unreachable, through an egress proxy or not), each logged as it should be.
 */
import { describeError, GatepassError } from '../errors.js';
import type { Logger } from '../log.js';
import { displayProxy, egressFailureReason } from '../net/egress.js';
import { tlsErrorCode, tlsHint } from '../net/tls.js';
import type { ErrorKind } from './dialect.js';
import type { ProxySettings } from './options.js';

export interface UpstreamFailure {
  status: number;
  kind: ErrorKind;
  message: string;
}

/** The first error code in `err` and its causes (undici nests them), other than our E_PROXY. */
export function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'E_PROXY') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);

/** The 401 message for a failed token fetch (logs the cause at debug level). */
export function tokenFailure(logger: Logger, err: unknown): string {
  const code = err instanceof GatepassError ? err.code : undefined;
  logger.debug(`proxy: no token: ${code ?? ''} ${describeError(err)}`);
  return code === 'E_AUTH_TIMEOUT'
    ? 'gatepass: timed out obtaining a gateway token (is a login waiting in the browser?). Run `gatepass login`.'
    : `gatepass: no gateway token available (${describeError(err)}). Run \`gatepass login\`.`;
}

/** Status, kind and message for an upstream failure before any response (logs it). */
export function upstreamFailure(s: ProxySettings, err: unknown): UpstreamFailure {
  const { gateway, logger, egress } = s;
  const code = errorCodeOf(err);
  const tlsCode = tlsErrorCode(err);
  if (tlsCode) {
    // Worth a warning in the proxy's own output: every request will fail the same way.
    logger.warn(
      `proxy: TLS certificate verification failed for the gateway at ${gateway.origin} (${tlsCode}); ${tlsHint()}`,
    );
    return {
      status: 502,
      kind: 'bad_gateway',
      message: `gatepass proxy: TLS certificate verification failed for the gateway at ${gateway.origin} (${tlsCode}); set tls.ca_file with \`gatepass config set --ca-file /path/to/ca.pem\``,
    };
  }
  if (code === 'E_UPSTREAM_PROTOCOL') {
    logger.debug(`proxy: ${describeError(err)}`);
    return {
      status: 502,
      kind: 'bad_gateway',
      message: `gatepass proxy: the gateway at ${gateway.origin} ${(err as Error).message.replace(/^the gateway /, '')}`,
    };
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return {
      status: 504,
      kind: 'timeout',
      message: `gatepass proxy: the gateway did not answer in time (${code})`,
    };
  }
  logger.debug(`proxy: gateway unreachable: ${code ?? ''} ${describeError(err)}`);
  if (egress) {
    return {
      status: 502,
      kind: 'bad_gateway',
      message: `gatepass proxy: could not reach the gateway at ${gateway.origin} through the proxy ${displayProxy(egress)} (${egressFailureReason(err)})`,
    };
  }
  return {
    status: 502,
    kind: 'bad_gateway',
    message: `gatepass proxy: could not reach the gateway at ${gateway.origin} (${code ?? 'error'})`,
  };
}
