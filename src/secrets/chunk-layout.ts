/**
 * The layout of chunked secrets (described in chunked.ts): the index entry's format, chunk keys and
 * the digest. Shared by the read side (chunked.ts) and the write side (chunk-write.ts), so neither
 * imports the other.
 */
import { builtin } from '../util/builtin.js';
import type { SecretStore } from './types.js';

/** Raw entries of the backend, each within its size limit. */
export type ChunkBackend = Pick<SecretStore, 'get' | 'set' | 'delete'>;

export const CHUNK_INDEX_PREFIX = 'gatepass-chunks:v1:';
const INDEX_PATTERN = /^gatepass-chunks:v1:([0-9a-f]{8,32}):([1-9]\d{0,4}):([A-Za-z0-9_-]{43})$/;

export interface ChunkIndex {
  gen: string;
  count: number;
  digest: string;
}

export function digestOf(value: string): string {
  // node:crypto is loaded on first use, not imported: this module is part of the token fast path
  // (the keychain store reads through it), where loading node:crypto costs ~5 ms of CPU per start
  // for a digest that only a chunked secret needs (util/builtin.ts).
  const { createHash } = builtin('node:crypto');
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

export function chunkKey(key: string, gen: string, i: number): string {
  return `${key}.chunk.${gen}.${i}`;
}

export function parseIndex(raw: string | undefined): ChunkIndex | undefined {
  const m = raw === undefined ? null : INDEX_PATTERN.exec(raw);
  return m ? { gen: m[1]!, count: Number(m[2]), digest: m[3]! } : undefined;
}
