/**
 * Who may use the loopback proxy. Pure functions so every rule is unit-tested:
 * - the Host header must name a loopback address on the proxy's own port (defeats DNS rebinding: a
 *   web page that resolves evil.example to 127.0.0.1 still sends `Host: evil.example`);
 * - requests carrying a browser `Origin` (or cross-site `Sec-Fetch-Site`) are refused: no AI tool
 *   sends them, every browser-issued cross-origin request does;
 * - the per-install local proxy key must be presented as the client's API key, so other local users
 *   and processes that merely reach the port cannot borrow the gateway token.
 */
import { localKeyMatches } from '../secrets/local-key.js';
import { splitQueryKeys } from './query.js';

/** A request's query string (after `?`), raw or as URLSearchParams; undefined when there is none. */
export type Query = string | URLSearchParams | undefined;

export type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

export type GuardResult = { ok: true } | { ok: false; reason: 'host' | 'origin' | 'key'; message: string };

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The last Host value found allowed, and for which port (Host is not a secret: equality is fine). */
let allowedHost = '';
let allowedPort = -1;

/** True when `host` (a Host header value) names a loopback address on `port`. */
export function isAllowedHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  if (host === allowedHost && port === allowedPort) return true;
  if (!checkHost(host, port)) return false;
  allowedHost = host;
  allowedPort = port;
  return true;
}

function checkHost(host: string, port: number): boolean {
  const h = host.trim().toLowerCase();
  let name: string;
  let hostPort: string | undefined;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return false;
    name = h.slice(0, end + 1);
    const rest = h.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    hostPort = rest ? rest.slice(1) : undefined;
  } else {
    const parts = h.split(':');
    if (parts.length > 2) return false;
    name = parts[0]!;
    hostPort = parts[1];
  }
  if (!LOOPBACK_NAMES.has(name)) return false;
  // Without a port the client means the scheme's default (80).
  if (hostPort === undefined) return port === 80;
  return /^\d{1,5}$/.test(hostPort) && Number(hostPort) === port;
}

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
function bearerKey(headers: Headers): string | undefined {
  const auth = first(headers['authorization']);
  return auth ? BEARER.exec(auth)?.[1] : undefined;
}

/** Every API key the client presented: Authorization Bearer, x-api-key, x-goog-api-key, ?key= (query.ts). */
export function presentedKeys(headers: Headers, search: Query): string[] {
  const keys: string[] = [];
  const bearer = bearerKey(headers);
  if (bearer !== undefined) keys.push(bearer);
  for (const name of ['x-api-key', 'x-goog-api-key']) {
    const v = first(headers[name])?.trim();
    if (v) keys.push(v);
  }
  if (search !== undefined) keys.push(...splitQueryKeys(String(search)).keys);
  return keys;
}

/** Did the client present the local proxy key (in any of the places presentedKeys looks)? */
export function hasLocalKey(headers: Headers, search: Query, localKey: string): boolean {
  // Where the proxy-mode tools put it (x-api-key, then a bearer token) first, without collecting
  // every key; any one matching is enough, so the order changes nothing but the cost.
  const x = first(headers['x-api-key']);
  if (x !== undefined && localKeyMatches(x.trim(), localKey)) return true;
  const bearer = bearerKey(headers);
  if (bearer !== undefined && localKeyMatches(bearer, localKey)) return true;
  return presentedKeys(headers, search).some((k) => localKeyMatches(k, localKey));
}

export interface GuardOptions {
  /** The port the proxy listens on (Host must carry it). */
  port: number;
  /** The expected local proxy key. */
  localKey: string;
  /** Skip the key check (the health endpoint). */
  skipKey?: boolean;
}

export function checkRequest(headers: Headers, search: Query, options: GuardOptions): GuardResult {
  if (!isAllowedHost(first(headers['host']), options.port)) {
    return {
      ok: false,
      reason: 'host',
      message: `gatepass proxy: refused a request whose Host is not a loopback address on port ${options.port}`,
    };
  }
  const fetchSite = first(headers['sec-fetch-site']);
  if (headers['origin'] !== undefined || (fetchSite !== undefined && fetchSite !== 'none')) {
    return {
      ok: false,
      reason: 'origin',
      message: 'gatepass proxy: refused a browser request (Origin header present)',
    };
  }
  if (!options.skipKey && !hasLocalKey(headers, search, options.localKey)) {
    return {
      ok: false,
      reason: 'key',
      message:
        'gatepass proxy: missing or wrong local proxy key; use the key from `gatepass setup` as the API key',
    };
  }
  return { ok: true };
}
