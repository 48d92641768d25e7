/**
 * Header rewriting between the client and the gateway: drop hop-by-hop headers (RFC 9110 §7.6.1)
 * and any named by Connection, drop the client's own credentials (the local proxy key), set the
 * gateway bearer token. Everything else (anthropic-version, anthropic-beta, user-agent, …) passes.
 */
import type { Headers } from './guard.js';
import { splitQueryKeys } from './query.js';

/** Hop-by-hop headers (the wire engine classifies the same names while parsing: wire/http1-head.ts). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Client credentials, replaced by the gateway token. */
export const CLIENT_CREDENTIALS: ReadonlySet<string> = new Set([
  'authorization',
  'x-api-key',
  'x-goog-api-key',
]);

const NONE: ReadonlySet<string> = new Set();

function connectionTokens(headers: Headers): ReadonlySet<string> {
  const v = headers['connection'];
  // The usual case (no header, or just keep-alive, itself hop-by-hop) allocates nothing.
  if (v === undefined || v === 'keep-alive') return NONE;
  const out = new Set<string>();
  for (const line of Array.isArray(v) ? v : v ? [v] : []) {
    for (const t of line.split(',')) {
      const n = t.trim().toLowerCase();
      if (n) out.add(n);
    }
  }
  return out;
}

export interface UpstreamHeaderOptions {
  token: string;
  /** Keep content-length (the body is streamed with it) or drop it (a buffered body sets its own). */
  keepContentLength: boolean;
}

/** Headers to send upstream. `host` is dropped: the HTTP client sets the gateway's. */
export function upstreamRequestHeaders(
  headers: Headers,
  options: UpstreamHeaderOptions,
): Record<string, string | string[]> {
  const named = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || named.has(n) || CLIENT_CREDENTIALS.has(n)) continue;
    if (n === 'host' || n === 'expect') continue;
    if (n === 'content-length' && !options.keepContentLength) continue;
    out[n] = value;
  }
  out['authorization'] = `Bearer ${options.token}`;
  return out;
}

/**
 * Headers to return to the client, from the gateway's raw response headers ([name, value, …] as
 * undici delivers them): a flat [name, value, …] list for `writeHead`, hop-by-hop headers removed.
 * Bytes are kept as latin1 both ways, so any header value round-trips unchanged.
 */
export function downstreamRawHeaders(raw: ReadonlyArray<Buffer | string>): {
  headers: string[];
  sized: boolean;
} {
  const headers: string[] = [];
  let named: ReadonlySet<string> | undefined;
  let sized = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (lower === 'connection') {
      named = connectionTokens({ connection: value });
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'content-length') sized = true;
    headers.push(name, value);
  }
  if (!named?.size) return { headers, sized };
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return { headers: out, sized };
}

/** Join the gateway URL's path prefix with the request path; drop `?key=` (Gemini's key slot) in every spelling. */
export function upstreamPath(prefix: string, requestUrl: string): string {
  const q = requestUrl.indexOf('?');
  const path = q < 0 ? requestUrl : requestUrl.slice(0, q);
  // Every spelling of the key parameter the guard accepts (one parser for both: query.ts).
  const query = q < 0 ? '' : splitQueryKeys(requestUrl.slice(q + 1)).rest;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const joined = `${base}${path.startsWith('/') ? path : `/${path}`}`;
  return query ? `${joined}?${query}` : joined;
}
