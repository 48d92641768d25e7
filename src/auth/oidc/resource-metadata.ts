/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) of an LLM gateway: which authorization server
 * issues its tokens and which resource indicator (RFC 8707) names it. Looked for, in order, at
 * `/.well-known/oauth-protected-resource` inserted before the gateway's path (RFC 9728 §3.1), appended
 * to the gateway URL (gateways under a path prefix that publish it there), on the host's root, and
 * finally in the `WWW-Authenticate: Bearer resource_metadata="…"` of a 401 the gateway answers
 * without a token (§5.1). Everything the server sends is checked before use: URLs must be https
 * (plain http only on loopback), carry no credentials, fragments or control characters, and the
 * `resource` must be the gateway itself or a path above it on the same origin.
 */
import { checkFieldValue, findField } from '../../config/validate.js';
import { ConfigError, describeError, GatepassError } from '../../errors.js';
import { tlsErrorCode, tlsHint } from '../../net/tls.js';
import { stripControl } from '../../redact.js';

export type FetchLike = (url: string, init: object) => Promise<Response>;

export const WELL_KNOWN_PRM = '/.well-known/oauth-protected-resource';
export const PRM_TIMEOUT_MS = 10_000;
/** A metadata document larger than this is not metadata. */
const MAX_BYTES = 64 * 1024;

export interface ProtectedResource {
  /** Where the metadata was read. */
  metadataUrl: string;
  /** How it was found: a well-known URL, or the 401's WWW-Authenticate header. */
  via: 'well-known' | 'www-authenticate';
  /** The resource identifier (RFC 8707 resource indicator). */
  resource: string;
  /** Issuer URLs of the authorization servers, in the server's order (each validated). */
  authorizationServers: string[];
  /** Scopes the gateway needs (valid scope tokens only). */
  scopes: string[];
  /** Human-readable name, control characters stripped. */
  name?: string;
}

/** The well-known URLs to try for `gateway`, most specific first, without duplicates. */
export function wellKnownUrls(gateway: string): string[] {
  const u = new URL(gateway);
  const path = u.pathname.replace(/\/+$/, '');
  const urls = [
    `${u.origin}${WELL_KNOWN_PRM}${path}`, // RFC 9728 §3.1: inserted before the resource's path
    `${u.origin}${path}${WELL_KNOWN_PRM}`, // on the gateway root, under its path prefix
    `${u.origin}${WELL_KNOWN_PRM}`, // on the host's root
  ];
  return [...new Set(urls)];
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `value` is not a URL gatepass may follow or save (https, or http on loopback), else undefined. */
export function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return 'is not a URL';
  if (CONTROL.test(value)) return 'contains control characters';
  return checkFieldValue(findField('oidc.issuer')!, value);
}

function shown(value: unknown): string {
  return typeof value === 'string' ? stripControl(value, { singleLine: true }).slice(0, 200) : String(value);
}

function hostile(url: string, what: string): ConfigError {
  return new ConfigError('E_CONFIG_INVALID', `the gateway's protected resource metadata ${url} ${what}`, {
    field: 'oidc.issuer',
    hint: 'ask your gateway admin to fix the metadata, or give the identity provider yourself: --issuer <issuer URL> --client-id <client id>',
  });
}

/** `resource` must name the gateway or a path above it on the same origin (segment boundaries). */
function coversGateway(resource: string, gateway: string): boolean {
  const r = new URL(resource);
  const g = new URL(gateway);
  if (r.origin !== g.origin || r.search) return false;
  const rp = r.pathname.replace(/\/+$/, '');
  const gp = g.pathname.replace(/\/+$/, '');
  return rp === '' || gp === rp || gp.startsWith(`${rp}/`);
}

/** Validate a parsed metadata document against the gateway it is for. */
export function parseResourceMetadata(
  body: unknown,
  gateway: string,
  metadataUrl: string,
  via: ProtectedResource['via'],
): ProtectedResource {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw hostile(metadataUrl, 'is not a JSON object');
  const doc = body as Record<string, unknown>;
  const resourceProblem = urlProblem(doc['resource']);
  if (resourceProblem)
    throw hostile(metadataUrl, `has an unusable "resource" (${shown(doc['resource'])}: ${resourceProblem})`);
  const resource = doc['resource'] as string;
  if (!coversGateway(resource, gateway))
    throw hostile(metadataUrl, `is about another resource (${shown(resource)}), not the gateway ${gateway}`);
  const servers = doc['authorization_servers'];
  if (!Array.isArray(servers) || servers.length === 0)
    throw hostile(metadataUrl, 'names no authorization server ("authorization_servers")');
  const authorizationServers: string[] = [];
  for (const s of servers) {
    const problem = urlProblem(s);
    if (problem)
      throw hostile(metadataUrl, `names an unusable authorization server ${shown(s)} (${problem})`);
    authorizationServers.push(s as string);
  }
  const scopeSpec = findField('oidc.scopes')!;
  const rawScopes = Array.isArray(doc['scopes_supported']) ? doc['scopes_supported'] : [];
  const scopes = rawScopes.filter(
    (s): s is string => typeof s === 'string' && !checkFieldValue(scopeSpec, [s]),
  );
  const name = typeof doc['resource_name'] === 'string' ? shown(doc['resource_name']) : undefined;
  return { metadataUrl, via, resource, authorizationServers, scopes, ...(name ? { name } : {}) };
}

/** GET a metadata document: the parsed JSON, or undefined when there is none at `url` (any non-200). */
async function fetchDocument(url: string, fetchFn: FetchLike, timeoutMs: number): Promise<unknown> {
  const res = await fetchFn(url, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return undefined;
  }
  const text = await res.text();
  if (text.length > MAX_BYTES) throw hostile(url, `is larger than ${MAX_BYTES} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw hostile(url, 'is not JSON');
  }
}

/** The `resource_metadata` parameter of a Bearer challenge (RFC 9728 §5.1), if any. */
export function resourceMetadataParam(header: string | null): string | undefined {
  if (!header) return undefined;
  const m = /(?:^|[\s,])resource_metadata\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/i.exec(header);
  if (!m || !/\bbearer\b/i.test(header)) return undefined;
  return (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1');
}

/** The 401 the gateway answers without a token: the metadata URL its challenge names, if any. */
async function challengeUrl(gateway: string, fetchFn: FetchLike, timeoutMs: number) {
  const base = gateway.replace(/\/+$/, '');
  for (const url of [`${base}/v1/models`, `${base}/`]) {
    const res = await fetchFn(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status !== 401) continue;
    const named = resourceMetadataParam(res.headers.get('www-authenticate'));
    if (named !== undefined) return { named, from: url };
  }
  return undefined;
}

export interface DiscoverOptions {
  fetch: FetchLike;
  timeoutMs?: number;
}

/**
 * The gateway's protected resource metadata, or undefined when it publishes none (every well-known
 * URL answers non-200 and no 401 names any). Unreachable gateways and hostile metadata throw.
 */
export async function discoverProtectedResource(
  gateway: string,
  options: DiscoverOptions,
): Promise<{ found?: ProtectedResource; tried: string[] }> {
  const timeoutMs = options.timeoutMs ?? PRM_TIMEOUT_MS;
  const tried: string[] = [];
  try {
    for (const url of wellKnownUrls(gateway)) {
      tried.push(url);
      const doc = await fetchDocument(url, options.fetch, timeoutMs);
      if (doc !== undefined) return { found: parseResourceMetadata(doc, gateway, url, 'well-known'), tried };
    }
    const challenge = await challengeUrl(gateway, options.fetch, timeoutMs);
    if (!challenge) return { tried };
    const problem = urlProblem(challenge.named);
    if (problem)
      throw hostile(
        `named by the 401 of ${challenge.from}`,
        `is at an unusable URL ${shown(challenge.named)} (${problem})`,
      );
    // The metadata of another host would let it pick the authorization server: same origin only.
    if (new URL(challenge.named).origin !== new URL(gateway).origin)
      throw hostile(shown(challenge.named), `is on another host than the gateway ${gateway}`);
    tried.push(challenge.named);
    const doc = await fetchDocument(challenge.named, options.fetch, timeoutMs);
    if (doc === undefined)
      throw hostile(challenge.named, `(named by the 401 of ${challenge.from}) could not be read`);
    return { found: parseResourceMetadata(doc, gateway, challenge.named, 'www-authenticate'), tried };
  } catch (err) {
    if (err instanceof GatepassError) throw err;
    const tls = tlsErrorCode(err);
    if (tls)
      throw new GatepassError(
        'E_TLS',
        `TLS certificate verification failed for the gateway at ${new URL(gateway).origin} (${tls}) while reading its protected resource metadata`,
        { cause: err, hint: tlsHint() },
      );
    throw new GatepassError(
      'E_IO',
      `could not read the gateway's protected resource metadata at ${tried.at(-1) ?? gateway}: ${describeError(err)}`,
      { cause: err, hint: 'check the gateway URL and your network (VPN, HTTPS_PROXY, --ca-file)' },
    );
  }
}
