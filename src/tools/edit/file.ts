/**
 * File-level editing: choose the editor for a format, plan a patch against the current content,
 * write it atomically (mode preserved, but never readable by others once it holds a secret), and
 * revert a recorded FileChange. Symlinked files are edited through the link, which stays a link
 * (a dangling one gets its target created, and removed again). Also the private backup file holding
 * previous values of secret keys (never in the config file, which `status` prints).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ToolConfigError } from '../../errors.js';
import {
  durableStep,
  PRIVATE_FILE_MODE,
  readTextIfExists,
  removeFileDurable,
  resolveWriteTarget,
  writeFileAtomic,
} from '../../util/fs.js';
import { sha256Text } from './common.js';
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
  /** Mode of the existing file (its symlink target), undefined when it does not exist. */
  modeBefore?: number;
  /** The file holds a secret and is readable by others now: setup makes it 0600. */
  tighten: boolean;
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
  const target = await resolveWriteTarget(plan.file);
  const modeBefore = before === undefined ? undefined : await fileMode(target);
  const tighten = await mustTighten(plan, target, modeBefore);
  const modeRecorded = fresh ? undefined : previous.mode_before;
  // The original's hash, for teardown's byte check: kept from the first setup while the file still
  // holds what the last setup wrote (edited since: the original is no longer what teardown gives).
  const hashBefore = before === undefined ? undefined : sha256Text(before);
  const originalHash = fresh
    ? hashBefore
    : previous.written_sha256 === hashBefore
      ? previous.before_sha256
      : undefined;
  const record: FileChange = {
    file: plan.file,
    format: plan.format,
    created: fresh ? before === undefined : previous.created,
    created_dirs: fresh ? (before === undefined ? await missingDirs(target) : []) : previous.created_dirs,
    ...(modeRecorded !== undefined || tighten ? { mode_before: modeRecorded ?? modeBefore! } : {}),
    changes,
    ...(originalHash !== undefined ? { before_sha256: originalHash } : {}),
    written_sha256: sha256Text(result.text),
  };
  return {
    file: plan.file,
    format: plan.format,
    before,
    after: result.text,
    record,
    backups: result.backups,
    ...(plan.mode !== undefined ? { mode: plan.mode } : {}),
    ...(modeBefore !== undefined ? { modeBefore } : {}),
    tighten,
  };
}

async function fileMode(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/**
 * A file that will hold a secret must not be readable by other users: true when setup has to make
 * it 0600. One owned by another user cannot be narrowed by us, so it is refused before any write.
 */
async function mustTighten(plan: FilePlan, target: string, mode: number | undefined): Promise<boolean> {
  if (mode === undefined || (mode & 0o077) === 0 || process.platform === 'win32') return false;
  if (!plan.settings.some((s) => s.secret)) return false;
  const uid = process.getuid?.();
  const owner = (await fsp.stat(target)).uid;
  if (uid !== undefined && owner !== uid) {
    throw new ToolConfigError(
      `${plan.file} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}) and owned by uid ${owner}, so gatepass cannot make it private; it would hold the local proxy key`,
      {
        path: plan.file,
        hint: `make it yours and private (chmod 600 ${plan.file}), or leave this tool out of --tools`,
      },
    );
  }
  return true;
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
  const base = {
    file: plan.file,
    format: plan.format,
    before,
    after: before ?? '',
    record,
    backups: {},
    tighten: false,
  };
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

/** Write a planned file (atomic, existing mode kept unless it must turn private; new files 0600 in 0700 dirs). */
export async function writePlanned(p: PlannedFile): Promise<void> {
  if (p.skip) return;
  if (p.before === p.after) {
    if (p.tighten) await chmodDurable(p.file, PRIVATE_FILE_MODE);
    return;
  }
  await writeFileAtomic(p.file, p.after, {
    mode: p.tighten
      ? PRIVATE_FILE_MODE
      : p.before === undefined && p.mode !== undefined
        ? p.mode
        : 'preserve',
  });
}

async function chmodDurable(file: string, mode: number): Promise<void> {
  await fsp.chmod(await resolveWriteTarget(file), mode);
  durableStep();
}

/** Remove a file gatepass created (through a symlink: its target, so the link stays) and its dirs. */
export async function removeCreated(file: string, createdDirs: string[]): Promise<void> {
  await removeFileDurable(await resolveWriteTarget(file));
  for (const dir of createdDirs) await fsp.rmdir(dir).catch(() => {});
}

/** Put a file back exactly as it was before `writePlanned` (rollback of a failed setup). */
export async function restorePlanned(p: PlannedFile): Promise<void> {
  if (p.skip) return;
  if (p.before === p.after) {
    if (p.tighten && p.modeBefore !== undefined) await chmodDurable(p.file, p.modeBefore);
    return;
  }
  if (p.before !== undefined) {
    await writeFileAtomic(p.file, p.before, { mode: p.modeBefore ?? 'preserve' });
    return;
  }
  await removeCreated(p.file, p.record.created_dirs);
}

export interface RevertFileResult {
  file: string;
  /**
   * removed: the file gatepass created was deleted; restored: byte for byte as before setup (or,
   * for records without its hash, gatepass's keys were undone); changed: gatepass's keys were
   * undone but the file differs from the original (`note` says how).
   */
  outcome: 'removed' | 'restored' | 'changed' | 'unchanged' | 'missing';
  drifted: string[][];
  /** What differs from the original, when outcome is 'changed'. */
  note?: string;
}

/** Why a reverted file is not the original: the user's edits, else gatepass' own re-formatting. */
function differsNote(record: FileChange, current: string, drifted: string[][]): string {
  const why: string[] = [];
  if (drifted.length) why.push(`${drifted.map((p) => p.join('.')).join(', ')} changed since setup (kept)`);
  if (record.written_sha256 !== undefined && sha256Text(current) !== record.written_sha256)
    why.push('the file was edited since setup (your edits were kept)');
  if (!why.length) why.push('gatepass could not give back its exact formatting (values are restored)');
  return `not byte-identical to before setup: ${why.join('; ')}`;
}

export async function revertFile(
  record: FileChange,
  backups: Record<string, string>,
  options: { keepPrivate?: boolean } = {},
): Promise<RevertFileResult> {
  const text = await readTextIfExists(record.file);
  if (text === undefined) return { file: record.file, outcome: 'missing', drifted: [] };
  const r = await revertText(record.format, record.file, text, record.changes, backups);
  if (record.created && r.empty) {
    await removeCreated(record.file, record.created_dirs);
    return { file: record.file, outcome: 'removed', drifted: r.drifted };
  }
  // The mode setup narrowed comes back once gatepass' key is out (unless the user changed it since).
  const mode = await fileMode(await resolveWriteTarget(record.file));
  // keepPrivate: another wiring still keeps a secret in the same file.
  const restoreMode = record.mode_before !== undefined && mode === PRIVATE_FILE_MODE && !options.keepPrivate;
  if (r.text === text) {
    if (restoreMode) await chmodDurable(record.file, record.mode_before!);
    return { file: record.file, outcome: 'unchanged', drifted: r.drifted };
  }
  await writeFileAtomic(record.file, r.text, { mode: restoreMode ? record.mode_before! : 'preserve' });
  if (record.before_sha256 !== undefined && sha256Text(r.text) !== record.before_sha256) {
    const note = differsNote(record, text, r.drifted);
    return { file: record.file, outcome: 'changed', drifted: r.drifted, note };
  }
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
    await removeFileDurable(file);
    return;
  }
  await writeFileAtomic(file, `${JSON.stringify(backups, null, 2)}\n`, { mode: 0o600 });
}
