/**
 * A JSON snapshot of the parsed YAML config, so `gatepass token` on a cache hit can skip the YAML
 * parser (the `yaml` package alone costs ~40 ms of CPU per start).
 *
 * The snapshot is a hidden 0600 file next to the config (`.config.yaml.snapshot.json`), rewritten
 * whenever gatepass saves the config or reads a config whose snapshot is stale. It is keyed by the
 * YAML file's size, mtime and a 64-bit content hash: a reader uses it only while all three still match
 * the YAML on disk, so a hand-edited config invalidates it at once and the full (YAML) path runs
 * instead. The hash detects changes, it is no security boundary (whoever can write the YAML can write
 * the snapshot next to it; both files must be the user's own and not writable by others, trust.ts); it is computed in JS because loading node:crypto alone costs a cache hit
 * ~9 ms of CPU.
 * It holds the normalised config — never a secret: the config holds none (token_ref names a
 * secret-store key, it is not a token).
 */
// fs.promises, not node:fs/promises: importing the latter loads Node's streams at start-up.
import { closeSync, promises as fsp, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { readManagedSource } from './registry.js';
import type { GatepassConfig } from './schema.js';
import { findUntrusted, statsTrusted } from './trust.js';

export const SNAPSHOT_VERSION = 3;

export interface SnapshotSource {
  size: number;
  mtimeMs: number;
  hash: string;
}

export interface ConfigSnapshot {
  v: typeof SNAPSHOT_VERSION;
  source: SnapshotSource;
  /** The fleet-managed file merged into `config` (managed.ts), or null when there was none. */
  managed: ManagedSource | null;
  /** The merged config (user's file + managed layer). */
  config: GatepassConfig;
  /** Providers that pass requireUsableProvider(); any other selection takes the full path. */
  usable: string[];
  /** Secret-store key of each OIDC provider (a SHA-256 derivation: computed here, not per start). */
  secret_keys: Record<string, string>;
}

export interface ManagedSource extends SnapshotSource {
  file: string;
}

/**
 * Does the managed source right now (the first of `sources` that exists: a file, or on Windows the
 * policy registry key read with `reg query`) match what the snapshot merged (`recorded`)? A managed
 * source that appeared, changed, vanished or is no longer trusted: no, the full path decides.
 */
function managedUnchanged(
  sources: string | readonly string[] | undefined,
  recorded: ManagedSource | null,
  env: NodeJS.ProcessEnv,
): boolean {
  for (const name of typeof sources === 'string' ? [sources] : (sources ?? [])) {
    const read = readManagedSource(name, env);
    if (!read) continue;
    if (!recorded || recorded.file !== name || (!read.registry && findUntrusted(name))) return false;
    const { bytes, mtimeMs } = read;
    return sameSource(recorded, { size: bytes.length, mtimeMs, hash: contentHash(bytes) });
  }
  return recorded === null;
}

export function snapshotFileFor(configFile: string): string {
  return path.join(path.dirname(configFile), `.${path.basename(configFile)}.snapshot.json`);
}

/** A 64-bit non-cryptographic hash (two cyrb53-style lanes) of `data`, as 16 hex digits. */
export function contentHash(data: Uint8Array): string {
  let h1 = 0xdeadbeef ^ data.length;
  let h2 = 0x41c6ce57 ^ data.length;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

function sameSource(a: SnapshotSource, b: SnapshotSource): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.hash === b.hash;
}

/**
 * The snapshot of `configFile`, only when it matches the YAML on disk right now; otherwise (no
 * snapshot, stale, unreadable, another version) undefined. Synchronous on purpose: it serves the
 * fast path, where each await is a turn of the event loop.
 */
export function readFreshSnapshot(
  configFile: string,
  managedSources?: string | readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ConfigSnapshot | undefined {
  let fd: number | undefined;
  try {
    const st = statSync(configFile);
    fd = openSync(snapshotFileFor(configFile), 'r');
    // Neither the config's path nor the snapshot may be writable by someone else (trust.ts): the
    // full path then runs and refuses the config with a clear error. One fstat of the file read.
    if (findUntrusted(configFile) || !statsTrusted(fstatSync(fd))) return undefined;
    const yaml = readFileSync(configFile);
    const snap = JSON.parse(readFileSync(fd, 'utf8')) as ConfigSnapshot;
    if (
      snap?.v !== SNAPSHOT_VERSION ||
      !snap.source ||
      !snap.config ||
      !Array.isArray(snap.usable) ||
      !snap.secret_keys
    ) {
      return undefined;
    }
    // A write between stat and read changes the hash: size/mtime alone are not trusted.
    const current = { size: yaml.length, mtimeMs: st.mtimeMs, hash: contentHash(yaml) };
    if (st.size !== yaml.length || !sameSource(snap.source, current)) return undefined;
    if (snap.managed === undefined || !managedUnchanged(managedSources, snap.managed, env)) return undefined;
    return snap;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Does the snapshot on disk describe exactly `source`? (Cheap: one small file read.) */
export async function snapshotMatches(
  configFile: string,
  source: SnapshotSource,
  managed: ManagedSource | null,
): Promise<boolean> {
  try {
    const snap = JSON.parse(await fsp.readFile(snapshotFileFor(configFile), 'utf8')) as ConfigSnapshot;
    return (
      snap?.v === SNAPSHOT_VERSION &&
      Boolean(snap.source) &&
      sameSource(snap.source, source) &&
      isDeepStrictEqual(snap.managed ?? null, managed)
    );
  } catch {
    return false;
  }
}
