/**
 * File-level editing: choose the editor for a format, plan a patch against the current content,
 * write it atomically (mode preserved), and revert a recorded FileChange. Also the private backup
 * file holding previous values of secret keys (never in the config file, which `status` prints).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ToolConfigError } from '../../errors.js';
import { readTextIfExists, writeFileAtomic } from '../../util/fs.js';
import { inspectDotenv, patchDotenv, revertDotenv } from './dotenv.js';
import { inspectJson, patchJson, revertJson } from './json.js';
import { inspectWhole, patchWhole, revertWhole } from './text.js';
import { inspectToml, loadToml, patchToml, revertToml } from './toml.js';
import type { FileChange, FileFormat, KeyChange, KeySetting, KeyState, RevertResult } from './types.js';

export interface FilePlan {
  file: string;
  format: FileFormat;
  settings: KeySetting[];
  /** Mode for a file gatepass creates (default 0600; an existing file keeps its mode). */
  mode?: number;
  /**
   * A file an earlier gatepass wired and this one no longer does (`settings` empty): what the earlier
   * run recorded is undone, byte for byte, and nothing is written when there is no such record.
   */
  retire?: boolean;
}

export interface PlannedFile {
  file: string;
  format: FileFormat;
  /** Current content, undefined when the file does not exist. */
  before: string | undefined;
  after: string;
  record: FileChange;
  backups: Record<string, string>;
  mode?: number;
  /** Nothing to do and nothing to record (a retired file no earlier run touched). */
  skip?: boolean;
}

export async function patchText(
  format: FileFormat,
  file: string,
  text: string | undefined,
  settings: KeySetting[],
) {
  if (format === 'json') return patchJson(file, text, settings);
  if (format === 'toml') return patchToml(await loadToml(), file, text, settings);
  if (format === 'text') return patchWhole(text, settings);
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
  if (format === 'text') return revertWhole(text, changes);
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
  if (format === 'text') return inspectWhole(text, changes);
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

/** Does a setting of this run still cover (set) what `path` = `after` recorded? */
function covered(
  path: string[],
  after: unknown,
  settings: KeySetting[],
  element?: KeyChange['element'],
): boolean {
  const startsWith = (a: string[], prefix: string[]) =>
    prefix.length <= a.length && prefix.every((p, i) => a[i] === p);
  if (element) {
    return settings.some(
      (s) =>
        s.element?.key === element.key &&
        startsWith(path, s.path) &&
        s.path.length === path.length &&
        (s.value as Record<string, unknown>)[element.key] === element.id,
    );
  }
  if (settings.some((s) => !s.element && startsWith(path, s.path))) return true;
  // A container holding a secret is recorded by hash only: still covered while anything is set in it.
  if (after === undefined) return settings.some((s) => startsWith(s.path, path));
  if (after && typeof after === 'object' && !Array.isArray(after)) {
    if (!settings.some((s) => startsWith(s.path, path))) return false;
    return Object.entries(after).every(([k, v]) => covered([...path, k], v, settings));
  }
  return false;
}

/**
 * Plan `plan` against the file's current content. `previous` is the record of an earlier setup of
 * the same file: its `before` values win (so re-running setup never forgets the user's original
 * values) and its `created` flag sticks. When this run no longer sets a key the earlier one set
 * (say `--bedrock-compat` was dropped), the earlier changes are undone first (restoring the user's
 * values, from `backups` for secret keys) and the plan is made against that.
 */
export async function planFile(
  plan: FilePlan,
  previous?: FileChange,
  backups: Record<string, string> = {},
): Promise<PlannedFile> {
  if (plan.retire) return planRetired(plan, previous, backups);
  const before = await readTextIfExists(plan.file);
  let base = before;
  let prev = previous;
  if (
    previous &&
    before !== undefined &&
    previous.changes.some((c) => !covered(c.path, c.after, plan.settings, c.element))
  ) {
    base = (await revertText(plan.format, plan.file, before, previous.changes, backups)).text;
    prev = { ...previous, changes: [] };
  }
  const result = await patchText(plan.format, plan.file, base, plan.settings);
  // Earlier records stay valid only while the key still holds what gatepass wrote; a key the user
  // changed or removed since has a new "before" (the user's value), and a deleted file starts over.
  let kept: KeyChange[] = [];
  if (prev?.changes.length && before !== undefined) {
    const states = await inspectText(plan.format, plan.file, before, prev.changes);
    kept = prev.changes.filter((_c, i) => states[i] === 'wired').map((c) => ({ ...c }));
  }
  const changes = kept;
  const same = (a: KeyChange, b: KeyChange) =>
    a.path.join('\u0000') === b.path.join('\u0000') && a.element?.id === b.element?.id;
  for (const c of result.changes) {
    const old = changes.find((o) => same(o, c));
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
    ...(plan.mode !== undefined ? { mode: plan.mode } : {}),
  };
}

/**
 * A retired file (FilePlan.retire): the earlier run's changes are undone and the record keeps no
 * changes — only, when gatepass created the file, the `created` flag, so teardown still removes it.
 */
async function planRetired(
  plan: FilePlan,
  previous: FileChange | undefined,
  backups: Record<string, string>,
): Promise<PlannedFile> {
  const before = await readTextIfExists(plan.file);
  const record: FileChange = {
    file: plan.file,
    format: plan.format,
    created: false,
    created_dirs: [],
    changes: [],
  };
  const base = { file: plan.file, format: plan.format, before, after: before ?? '', record, backups: {} };
  if (!previous || before === undefined || (!previous.changes.length && !previous.created))
    return { ...base, skip: true };
  const after = previous.changes.length
    ? (await revertText(plan.format, plan.file, before, previous.changes, backups)).text
    : before;
  return {
    ...base,
    after,
    record: { ...record, created: previous.created, created_dirs: previous.created_dirs },
  };
}

/** Write a planned file (atomic, existing mode kept; new files 0600 in 0700 dirs). */
export async function writePlanned(p: PlannedFile): Promise<void> {
  if (p.skip || p.before === p.after) return;
  await writeFileAtomic(p.file, p.after, {
    mode: p.before === undefined && p.mode !== undefined ? p.mode : 'preserve',
  });
}

/** Put a file back exactly as it was before `writePlanned` (rollback of a failed setup). */
export async function restorePlanned(p: PlannedFile): Promise<void> {
  if (p.skip || p.before === p.after) return;
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
  const file = backupFile(stateDir);
  const text = await readTextIfExists(file);
  if (!text) return {};
  // This file holds the only copy of the user's previous API keys: never treat a damaged one as
  // empty (teardown would then delete it and leave gatepass' values in the user's files).
  const refuse = (why: string): never => {
    throw new ToolConfigError(`${file} is malformed (${why}); it holds the values setup replaced`, {
      path: file,
      hint: 'repair the file (a JSON object of strings) or move it aside; gatepass will not overwrite it',
    });
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return refuse('not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return refuse('not a JSON object');
  for (const value of Object.values(v)) {
    if (typeof value !== 'string') return refuse('a value is not a string');
  }
  return v as Record<string, string>;
}

export async function writeBackups(stateDir: string, backups: Record<string, string>): Promise<void> {
  const file = backupFile(stateDir);
  if (Object.keys(backups).length === 0) {
    await fsp.rm(file, { force: true });
    return;
  }
  await writeFileAtomic(file, `${JSON.stringify(backups, null, 2)}\n`, { mode: 0o600 });
}
