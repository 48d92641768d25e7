/**
 * Errors the proxy itself produces, shaped like the API the client is speaking so SDKs and tools
 * show the message instead of a parse error. The dialect is guessed from the path and headers.
 */
import type { Headers } from './guard.js';

export type Dialect = 'openai' | 'anthropic' | 'google';

export function detectDialect(path: string, headers: Headers): Dialect {
  const p = path.split('?')[0]!.toLowerCase();
  if (headers['anthropic-version'] !== undefined || /\/v1\/messages(\/|$)|\/anthropic(\/|$)/.test(p)) {
    return 'anthropic';
  }
  if (
    headers['x-goog-api-key'] !== undefined ||
    /\/v1(beta|alpha)?\d*\/models\/[^/]+:|:(stream)?generatecontent|:counttokens|:embedcontent|\/v1beta/.test(
      p,
    )
  ) {
    return 'google';
  }
  return 'openai';
}

export type ErrorKind = 'auth' | 'forbidden' | 'bad_gateway' | 'timeout' | 'internal';

const OPENAI_TYPE: Record<ErrorKind, string> = {
  auth: 'authentication_error',
  forbidden: 'permission_error',
  bad_gateway: 'api_error',
  timeout: 'timeout_error',
  internal: 'api_error',
};
const ANTHROPIC_TYPE: Record<ErrorKind, string> = {
  auth: 'authentication_error',
  forbidden: 'permission_error',
  bad_gateway: 'api_error',
  timeout: 'timeout_error',
  internal: 'api_error',
};
const GOOGLE_STATUS: Record<ErrorKind, string> = {
  auth: 'UNAUTHENTICATED',
  forbidden: 'PERMISSION_DENIED',
  bad_gateway: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
  internal: 'INTERNAL',
};

/** The JSON body of a proxy-made error in the client's dialect. */
export function errorBody(dialect: Dialect, kind: ErrorKind, status: number, message: string): unknown {
  switch (dialect) {
    case 'anthropic':
      return { type: 'error', error: { type: ANTHROPIC_TYPE[kind], message } };
    case 'google':
      return { error: { code: status, message, status: GOOGLE_STATUS[kind] } };
    default:
      return { error: { message, type: OPENAI_TYPE[kind], code: `gatepass_${kind}` } };
  }
}
