/**
 * File-level editing: choose the editor for a format, plan a patch against the current content,
 * write it atomically (mode preserved), and revert a recorded FileChange. Also the private backup
 * file holding previous values of secret keys (never in the config file, which `status` prints).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readTextIfExists, writeFileAtomic } from '../../util/fs.js';
import { inspectDotenv, patchDotenv, revertDotenv } from './dotenv.js';
import { inspectJson, patchJson, revertJson } from './json.js';
import { inspectToml, loadToml, patchToml, revertToml } from './toml.js';
import type { FileChange, FileFormat, KeyChange, KeySetting, KeyState, RevertResult } from './types.js';

export interface FilePlan {
  file: string;
  format: FileFormat;
  settings: KeySetting[];
}

export interface PlannedFile {
  file: string;
  format: FileFormat;
  /** Current content, undefined when the file does not exist. */
  before: string | undefined;
  after: string;
  record: FileChange;
  backups: Record<string, string>;
}

export async function patchText(
  format: FileFormat,
  file: string,
  text: string | undefined,
  settings: KeySetting[],
) {
  if (format === 'json') return patchJson(file, text, settings);
  if (format === 'toml') return patchToml(await loadToml(), file, text, settings);
  return patchDotenv(file, text, settings);
}

export async function revertText(
  format: FileFormat,
  file: string,
  text: string,
  changes: KeyChange[],
  backups: Record<string, string>,
): Promise<RevertResult> {
  if (format === 'json') return revertJson(file, text, changes, backups);
  if (format === 'toml') return revertToml(await loadToml(), file, text, changes, backups);
  return revertDotenv(file, text, changes, backups);
}

export async function inspectText(
  format: FileFormat,
  file: string,
  text: string | undefined,
  changes: KeyChange[],
): Promise<KeyState[]> {
  if (format === 'json') return inspectJson(file, text, changes);
  if (format === 'toml') return inspectToml(await loadToml(), file, text, changes);
  return inspectDotenv(text, changes);
}

/** Missing ancestor directories of `file`, deepest first. */
export async function missingDirs(file: string): Promise<string[]> {
  const out: string[] = [];
  let dir = path.dirname(file);
  for (;;) {
    try {
      await fsp.stat(dir);
      return out;
    } catch {
      out.push(dir);
      const parent = path.dirname(dir);
      if (parent === dir) return out;
      dir = parent;
    }
  }
}

/**
 * Plan `plan` against the file's current content. `previous` is the record of an earlier setup of
 * the same file: its `before` values win (so re-running setup never forgets the user's original
 * values) and its `created` flag sticks.
 */
export async function planFile(plan: FilePlan, previous?: FileChange): Promise<PlannedFile> {
  const before = await readTextIfExists(plan.file);
  // Earlier records stay valid only while the key still holds what gatepass wrote; a key the user
  // changed or removed since has a new "before" (the user's value), and a deleted file starts over.
  let kept: KeyChange[] = [];
  let base = before;
  if (previous && before !== undefined) {
    const states = await inspectText(plan.format, plan.file, before, previous.changes);
    kept = previous.changes.filter((_c, i) => states[i] === 'wired').map((c) => ({ ...c }));
    // Keys an earlier setup wrote that this plan no longer sets (an option such as --ca-file was
    // cleared) go back to what they were before gatepass, through their records.
    const split = splitStale(kept, plan.settings);
    kept = split.kept;
    if (split.stale.length) {
      base = (await revertText(plan.format, plan.file, before, split.stale, {})).text;
    }
  }
  const result = await patchText(plan.format, plan.file, base, plan.settings);
  const changes = kept;
  for (const c of result.changes) {
    const old = changes.find((o) => o.path.join('\u0000') === c.path.join('\u0000'));
    if (!old) {
      changes.push(c);
      continue;
    }
    delete old.after;
    delete old.after_sha256;
    Object.assign(old, c.after_sha256 !== undefined ? { after_sha256: c.after_sha256 } : { after: c.after });
  }
  const fresh = !previous || before === undefined;
  const record: FileChange = {
    file: plan.file,
    format: plan.format,
    created: fresh ? before === undefined : previous.created,
    created_dirs: fresh ? (before === undefined ? await missingDirs(plan.file) : []) : previous.created_dirs,
    changes,
  };
  return {
    file: plan.file,
    format: plan.format,
    before,
    after: result.text,
    record,
    backups: result.backups,
  };
}

const isPrefix = (a: string[], b: string[]) => a.length <= b.length && a.every((k, i) => b[i] === k);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Separate recorded changes the new settings still cover from stale ones. A container gatepass
 * created (one record for several keys) loses only its uncovered members.
 */
export function splitStale(
  changes: KeyChange[],
  settings: KeySetting[],
): { kept: KeyChange[]; stale: KeyChange[] } {
  const covered = (p: string[]) => settings.some((s) => isPrefix(s.path, p) || isPrefix(p, s.path));
  const kept: KeyChange[] = [];
  const stale: KeyChange[] = [];
  for (const c of changes) {
    if (!covered(c.path)) {
      stale.push(c);
      continue;
    }
    const exact = settings.some((s) => isPrefix(s.path, c.path));
    if (!exact && c.before_absent && isPlainObject(c.after)) {
      const after = { ...c.after };
      for (const k of Object.keys(after)) {
        if (covered([...c.path, k])) continue;
        stale.push({ path: [...c.path, k], before_absent: true, after: after[k] });
        delete after[k];
      }
      kept.push({ ...c, after });
      continue;
    }
    kept.push(c);
  }
  return { kept, stale };
}

/** Write a planned file (atomic, existing mode kept; new files 0600 in 0700 dirs). */
export async function writePlanned(p: PlannedFile): Promise<void> {
  if (p.before === p.after) return;
  await writeFileAtomic(p.file, p.after, { mode: 'preserve' });
}

/** Put a file back exactly as it was before `writePlanned` (rollback of a failed setup). */
export async function restorePlanned(p: PlannedFile): Promise<void> {
  if (p.before === p.after) return;
  if (p.before !== undefined) {
    await writeFileAtomic(p.file, p.before, { mode: 'preserve' });
    return;
  }
  await fsp.rm(p.file, { force: true });
  for (const dir of p.record.created_dirs) await fsp.rmdir(dir).catch(() => {});
}

export interface RevertFileResult {
  file: string;
  /** removed: the file gatepass created was deleted; restored: gatepass's keys were undone. */
  outcome: 'removed' | 'restored' | 'unchanged' | 'missing';
  drifted: string[][];
}

export async function revertFile(
  record: FileChange,
  backups: Record<string, string>,
): Promise<RevertFileResult> {
  const text = await readTextIfExists(record.file);
  if (text === undefined) return { file: record.file, outcome: 'missing', drifted: [] };
  const r = await revertText(record.format, record.file, text, record.changes, backups);
  if (record.created && r.empty) {
    await fsp.rm(record.file, { force: true });
    for (const dir of record.created_dirs) await fsp.rmdir(dir).catch(() => {});
    return { file: record.file, outcome: 'removed', drifted: r.drifted };
  }
  if (r.text === text) return { file: record.file, outcome: 'unchanged', drifted: r.drifted };
  await writeFileAtomic(record.file, r.text, { mode: 'preserve' });
  return { file: record.file, outcome: 'restored', drifted: r.drifted };
}

export async function inspectFile(record: FileChange): Promise<KeyState> {
  const text = await readTextIfExists(record.file);
  if (text === undefined) return 'missing';
  const states = await inspectText(record.format, record.file, text, record.changes);
  if (states.includes('drifted')) return 'drifted';
  if (states.includes('missing')) return 'missing';
  return 'wired';
}

// ---------------------------------------------------------------------------------------------
// Private backups of previous values of secret keys.

export function backupFile(stateDir: string): string {
  return path.join(stateDir, 'tool-backups.json');
}

export async function readBackups(stateDir: string): Promise<Record<string, string>> {
  const text = await readTextIfExists(backupFile(stateDir));
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export async function writeBackups(stateDir: string, backups: Record<string, string>): Promise<void> {
  const file = backupFile(stateDir);
  if (Object.keys(backups).length === 0) {
    await fsp.rm(file, { force: true });
    return;
  }
  await writeFileAtomic(file, `${JSON.stringify(backups, null, 2)}\n`, { mode: 0o600 });
}
