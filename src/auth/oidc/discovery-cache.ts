/**
 * The discovery document cache: a refresh needs the token endpoint, and fetching
 * `.well-known/openid-configuration` again on every refresh costs a round trip to the IdP. The
 * document (public metadata, no secret) is kept per issuer in `<cacheDir>/discovery/<hash>.json`
 * (0600, dir 0700) for as long as its HTTP caching headers allow (`Cache-Control: max-age`, else
 * `Expires`; `no-store` / `no-cache` / `max-age=0`: not cached), else 24 hours. A document whose
 * issuer is not the configured one, or that is malformed, counts as absent; a failed token request
 * forgets it (the endpoint may have moved).
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GatepassPaths } from '../../config/paths.js';
import { ensurePrivateDir, writeFileAtomic } from '../../util/fs.js';

export const DEFAULT_DISCOVERY_TTL_MS = 24 * 3600_000;

interface CachedDiscovery {
  issuer: string;
  expires_at: number;
  metadata: Record<string, unknown>;
}

/** The cache file of an issuer (its URL normalised, so `https://idp` and `https://idp/` share it). */
export function discoveryCacheFile(paths: Pick<GatepassPaths, 'cacheDir'>, issuer: string): string {
  let key = issuer;
  try {
    key = new URL(issuer).href;
  } catch {
    // not a URL: validation refuses such issuers; hash the text as it is
  }
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(paths.cacheDir, 'discovery', `${hash}.json`);
}

const sameIssuer = (a: unknown, b: string): boolean =>
  typeof a === 'string' && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The cached metadata of `issuer`, when present, fresh, well-formed and about that issuer. */
export async function readCachedDiscovery(
  paths: Pick<GatepassPaths, 'cacheDir'>,
  issuer: string,
  now: number,
): Promise<Record<string, unknown> | undefined> {
  try {
    const rec = JSON.parse(await readFile(discoveryCacheFile(paths, issuer), 'utf8')) as CachedDiscovery;
    const md = rec.metadata;
    if (
      typeof rec.expires_at !== 'number' ||
      rec.expires_at <= now ||
      !sameIssuer(rec.issuer, issuer) ||
      typeof md !== 'object' ||
      md === null ||
      !sameIssuer(md['issuer'], issuer) ||
      typeof md['token_endpoint'] !== 'string'
    ) {
      return undefined;
    }
    return md;
  } catch {
    return undefined;
  }
}

/**
 * How long a discovery response may be reused (ms) from its headers; 0 = not at all, undefined =
 * the headers say nothing (the caller uses the default).
 */
export function freshnessMs(headers: Headers, now: number): number | undefined {
  const cc = (headers.get('cache-control') ?? '').toLowerCase();
  if (/(^|,)\s*(no-store|no-cache)\b/.test(cc)) return 0;
  const maxAge = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)/.exec(cc);
  if (maxAge) {
    const age = Number(headers.get('age') ?? 0) || 0;
    return Math.max(0, Number(maxAge[1]) - age) * 1000;
  }
  const expires = headers.get('expires');
  if (expires) {
    const at = Date.parse(expires);
    if (Number.isNaN(at)) return 0; // an invalid Expires means "already expired" (RFC 9111)
    const date = Date.parse(headers.get('date') ?? '');
    return Math.max(0, at - (Number.isNaN(date) ? now : date));
  }
  return undefined;
}

export async function writeCachedDiscovery(
  paths: Pick<GatepassPaths, 'cacheDir'>,
  issuer: string,
  metadata: object,
  ttlMs: number,
  now: number,
): Promise<void> {
  if (ttlMs <= 0) return;
  const file = discoveryCacheFile(paths, issuer);
  await ensurePrivateDir(path.dirname(file));
  const rec: CachedDiscovery = {
    issuer,
    expires_at: now + ttlMs,
    metadata: metadata as Record<string, unknown>,
  };
  await writeFileAtomic(file, JSON.stringify(rec), { mode: 0o600 });
}

export async function forgetDiscovery(paths: Pick<GatepassPaths, 'cacheDir'>, issuer: string): Promise<void> {
  await rm(discoveryCacheFile(paths, issuer), { force: true }).catch(() => {});
}
