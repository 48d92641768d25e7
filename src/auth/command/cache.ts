/**
 * The token cache file of a command provider:
 * `{"token": "...", "expires_at": <epoch s>, "refresh_token"?: "...", "metadata": {...}}`.
 * Written atomically with mode 0600 in a 0700 directory. The token command may write it itself
 * (gatepass tells it where through GATEPASS_TOKEN_CACHE), so reading is lenient about extra fields
 * and treats a malformed file as absent (it is only a cache; the next fetch replaces it).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { type GatepassPaths, resolveHome } from '../../config/paths.js';
import type { CommandProvider } from '../../config/schema.js';
import { registerSecret } from '../../redact.js';
import { writeFileAtomic } from '../../util/fs.js';
import { isSafeToken } from '../token-chars.js';
import { parseExpiry } from './parse.js';

export interface CacheEntry {
  token: string;
  /** Epoch ms; undefined when nobody knows (then the entry is trusted for DEFAULT_UNKNOWN_TTL). */
  expiresAt?: number;
  refreshToken?: string;
  metadata: Record<string, unknown>;
}

/** The cache file for a provider: auth.token_cache (with ~/ expanded) or `<cacheDir>/tokens/<name>.json`. */
export function cacheFilePath(
  paths: GatepassPaths,
  env: NodeJS.ProcessEnv,
  name: string,
  provider: CommandProvider,
): string {
  const configured = provider.auth.token_cache;
  if (configured) {
    if (configured === '~' || configured.startsWith('~/')) {
      return path.join(resolveHome({ env }), configured.slice(1));
    }
    return path.resolve(configured);
  }
  return path.join(paths.cacheDir, 'tokens', `${name}.json`);
}

export type CacheRead =
  | { state: 'absent' }
  | { state: 'malformed'; reason: string }
  | { state: 'ok'; entry: CacheEntry; mtimeMs: number };

export async function readCache(file: string): Promise<CacheRead> {
  let text: string;
  let mtimeMs: number;
  try {
    const [t, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    text = t;
    mtimeMs = st.mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    return { state: 'malformed', reason: `cannot read it (${(err as NodeJS.ErrnoException).code})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: 'malformed', reason: 'it is not valid JSON' };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    return { state: 'malformed', reason: 'it is not a JSON object' };
  }
  const o = json as Record<string, unknown>;
  const token = typeof o['token'] === 'string' ? o['token'].trim() : '';
  if (!token || !isSafeToken(token)) return { state: 'malformed', reason: 'it has no usable "token"' };
  registerSecret(token);
  const entry: CacheEntry = {
    token,
    metadata:
      o['metadata'] && typeof o['metadata'] === 'object' && !Array.isArray(o['metadata'])
        ? (o['metadata'] as Record<string, unknown>)
        : {},
  };
  if (o['expires_at'] !== undefined && o['expires_at'] !== null) {
    const exp = parseExpiry(o['expires_at']);
    if (exp === undefined) return { state: 'malformed', reason: 'its "expires_at" is unreadable' };
    entry.expiresAt = exp;
  }
  if (typeof o['refresh_token'] === 'string' && o['refresh_token']) {
    entry.refreshToken = o['refresh_token'];
    registerSecret(entry.refreshToken);
  }
  return { state: 'ok', entry, mtimeMs };
}

export async function writeCache(file: string, entry: CacheEntry): Promise<void> {
  // Missing directories are created 0700 by writeFileAtomic; an existing one (a user-chosen
  // token_cache next to other files, maybe $HOME itself) is left as it is.
  const doc: Record<string, unknown> = { token: entry.token };
  if (entry.expiresAt !== undefined) doc['expires_at'] = Math.floor(entry.expiresAt / 1000);
  if (entry.refreshToken) doc['refresh_token'] = entry.refreshToken;
  doc['metadata'] = entry.metadata;
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
}

/** Delete the cache file; true when there was one. */
export async function deleteCache(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
