/**
 * Recording a refreshed token's expiry (`providers.<name>.token_ref.expires_at`) without the YAML
 * library. A refresh changes nothing else in the config, and parsing plus re-serialising the YAML
 * cost a refresh ~25 ms of CPU (the `yaml` package, validation); this edits the one number in place.
 *
 * Only when that is unambiguous, else it declines and the caller writes through updateConfig():
 * - the config's snapshot (snapshot.ts) is fresh — the YAML parser's reading of exactly these bytes
 *   — and shows the provider's token_ref with the same secret key and identity, not logged out;
 * - the text holds `expires_at` exactly once, on a plain `expires_at: <digits>` line whose value is
 *   the snapshot's, under a plain `token_ref:` line, under `<name>:`, under `providers:` at column 0
 *   (nearest less-indented lines; no tabs, no document markers, no quoting, anchors, aliases, tags,
 *   flow or block scalars in the token_ref block).
 * Done under the config's lock, after the same trust check as every config write, atomically (0600),
 * and the snapshot is rewritten for the new bytes, so the next `gatepass token` stays on the fast path.
 */
import { readFile, stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../util/fs.js';
import { withFileLock } from '../util/lock.js';
import type { TokenIdentity } from './schema.js';
import { type ConfigSnapshot, contentHash, readFreshSnapshot, snapshotFileFor } from './snapshot.js';
import { assertTrustedConfig } from './trust.js';

export interface TokenRefUpdate {
  name: string;
  secretKey: string;
  /** Epoch seconds. */
  expiresAt: number;
  identity: TokenIdentity | undefined;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;
const meaningful = (line: string): boolean => line.trim() !== '' && !line.trimStart().startsWith('#');
// A token_ref line gatepass writes: a key and a plain scalar (or a nested mapping's key). The value
// may not start with a YAML indicator (quotes, flow, block scalar, anchor, alias, tag, …) and holds
// no comment and no further `: `.
const ENTRY = /^ +[A-Za-z_]+:(?: (.*))?$/;
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`\s]/;
function plainEntry(line: string): boolean {
  const m = ENTRY.exec(line);
  if (!m) return false;
  const value = m[1];
  if (value === undefined) return true;
  return value !== '' && !INDICATOR_START.test(value) && !value.includes('#') && !value.includes(': ');
}

/** The nearest line above `index` indented less than `indent` (skipping blanks and comments). */
function parentLine(lines: string[], index: number, indent: number): number {
  for (let i = index - 1; i >= 0; i--) {
    if (meaningful(lines[i]!) && indentOf(lines[i]!) < indent) return i;
  }
  return -1;
}

/** The edited text, or undefined when the edit is not unambiguous (see the module comment). */
export function editTokenRefExpiry(
  text: string,
  name: string,
  oldValue: number,
  newValue: number,
): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || text.includes('\t') || text.includes('\r')) return undefined;
  const first = text.indexOf('expires_at');
  if (first < 0 || text.indexOf('expires_at', first + 1) >= 0) return undefined;
  const lines = text.split('\n');
  if (lines.some((l) => /^(---|\.\.\.|%)/.test(l))) return undefined;
  const at = lines.findIndex((l) => l.includes('expires_at'));
  const m = /^( +)expires_at: (\d+)$/.exec(lines[at]!);
  if (!m || Number(m[2]) !== oldValue) return undefined;
  const ref = parentLine(lines, at, m[1]!.length);
  if (ref < 0 || !/^ +token_ref:$/.test(lines[ref]!)) return undefined;
  const provider = parentLine(lines, ref, indentOf(lines[ref]!));
  if (provider < 0 || lines[provider] !== `${' '.repeat(indentOf(lines[provider]!))}${name}:`)
    return undefined;
  const providers = parentLine(lines, provider, indentOf(lines[provider]!));
  if (providers < 0 || lines[providers] !== 'providers:') return undefined;
  // Every line of the token_ref block is a plain entry.
  const refIndent = indentOf(lines[ref]!);
  for (let i = ref + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!meaningful(line)) {
      if (line.trim() !== '') return undefined; // a comment inside the block: leave it to the parser
      continue;
    }
    if (indentOf(line) <= refIndent) break;
    if (!plainEntry(line)) return undefined;
  }
  lines[at] = `${m[1]}expires_at: ${newValue}`;
  return lines.join('\n');
}

/**
 * Record `update.expiresAt` in the config file in place; false (nothing written) when that is not
 * unambiguous, and the caller must write through updateConfig(). May throw what updateConfig would
 * (an untrusted config, a lock or write failure).
 */
export async function recordTokenRefExpiry(
  file: string,
  managed: string | readonly string[] | undefined,
  update: TokenRefUpdate,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  await assertTrustedConfig(file);
  return withFileLock(file, async () => {
    const snap = readFreshSnapshot(file, managed, env);
    const provider = snap?.config.providers[update.name];
    const ref = provider?.type === 'oidc' ? provider.token_ref : undefined;
    if (
      !snap ||
      provider?.type !== 'oidc' ||
      provider.logged_out ||
      !ref ||
      typeof ref.expires_at !== 'number' ||
      ref.secret_key !== update.secretKey ||
      !isDeepStrictEqual(ref.identity ?? null, update.identity ?? null) ||
      // token_ref is the user's file's own (the managed layer never carries one); be sure of it.
      snap.managed !== null
    ) {
      return false;
    }
    if (ref.expires_at === update.expiresAt) return true;
    const text = await readFile(file, 'utf8');
    const bytes = Buffer.from(text, 'utf8');
    if (contentHash(bytes) !== snap.source.hash || bytes.length !== snap.source.size) return false;
    const edited = editTokenRefExpiry(text, update.name, ref.expires_at, update.expiresAt);
    if (edited === undefined) return false;
    await writeFileAtomic(file, edited, { mode: 0o600 });
    const written = Buffer.from(edited, 'utf8');
    const st = await stat(file);
    const next: ConfigSnapshot = structuredClone(snap);
    const p = next.config.providers[update.name];
    if (p?.type === 'oidc' && p.token_ref) p.token_ref.expires_at = update.expiresAt;
    next.source = { size: written.length, mtimeMs: st.mtimeMs, hash: contentHash(written) };
    await writeFileAtomic(snapshotFileFor(file), JSON.stringify(next), { mode: 0o600 }).catch(() => {});
    return true;
  });
}
