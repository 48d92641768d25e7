/**
 * Crash safety of `gatepass setup`: the "in progress" journal. Before setup touches any tool file it
 * writes (atomically, fsync'd, 0600, in gatepass' state directory) everything needed to put the
 * world back: each file's exact previous content and mode, the config file's previous text, the
 * previous private backups, and whether it created the local proxy key. The journal is removed once
 * setup committed. A journal still there means a setup died mid-way (kill -9, power loss): the next
 * setup, teardown or status rolls it back — files whose content is still gatepass' get their exact
 * previous bytes, files changed since are reverted key by key like teardown does — and removes the
 * temp files dead gatepass processes left next to the files they were writing (a killed teardown's
 * too, next to the wired tool files and the config).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/store.js';
import { describeError, ToolConfigError } from '../errors.js';
import { LOCAL_PROXY_KEY_NAME } from '../secrets/types.js';
import { sha256 } from '../tools/edit/common.js';
import { backupFile, type PlannedFile, removeCreated, revertFile } from '../tools/edit/file.js';
import type { FileChange } from '../tools/edit/types.js';
import { launcherPath } from '../tools/launcher.js';
import {
  readTextIfExists,
  removeFileDurable,
  removeStaleTemps,
  resolveWriteTarget,
  writeFileAtomic,
} from '../util/fs.js';
import { fileRecords, openStore, type RunEnv } from './common.js';

const VERSION = 1;

interface JournalFile {
  file: string;
  /** Exact previous content; absent: the file did not exist. */
  before?: string;
  /** Mode of the previous file (its symlink target). */
  mode?: number;
  /** sha256 of the content setup writes (the content itself may hold the local proxy key). */
  after_sha256: string;
  /** The record setup is about to save, for reverting a file changed since the crash. */
  record: FileChange;
}

export interface SetupJournal {
  v: number;
  pid: number;
  started: string;
  config_file: string;
  /** Previous text of the config file; absent: it did not exist. */
  config_before?: string;
  /** Previous text of the private backups file; absent: it did not exist. */
  backups_before?: string;
  /** Every backup value this run may need (the previous ones and the new ones). */
  backups: Record<string, string>;
  created_key: boolean;
  files: JournalFile[];
}

export function journalFile(stateDir: string): string {
  return path.join(stateDir, 'setup-journal.json');
}

export interface JournalInput {
  configFile: string;
  configBefore: string | undefined;
  backups: Record<string, string>;
  createdKey: boolean;
  files: PlannedFile[];
}

/** Write the journal (durably) before the first write of a setup; returns what was written. */
export async function beginJournal(run: RunEnv, input: JournalInput): Promise<SetupJournal> {
  const backupsBefore = await readTextIfExists(backupFile(run.paths.stateDir));
  const journal: SetupJournal = {
    v: VERSION,
    pid: process.pid,
    started: new Date(run.now()).toISOString(),
    config_file: input.configFile,
    ...(input.configBefore !== undefined ? { config_before: input.configBefore } : {}),
    ...(backupsBefore !== undefined ? { backups_before: backupsBefore } : {}),
    backups: input.backups,
    created_key: input.createdKey,
    files: input.files.map((f) => ({
      file: f.file,
      ...(f.before !== undefined ? { before: f.before } : {}),
      ...(f.modeBefore !== undefined ? { mode: f.modeBefore } : {}),
      after_sha256: sha256(f.after),
      record: f.record,
    })),
  };
  await writeFileAtomic(journalFile(run.paths.stateDir), `${JSON.stringify(journal)}\n`, { mode: 0o600 });
  return journal;
}

/** Setup committed: forget the journal. */
export async function endJournal(run: RunEnv): Promise<void> {
  await removeFileDurable(journalFile(run.paths.stateDir));
}

/**
 * Put back everything a journaled setup may have changed, newest first, then drop the journal.
 * Throws (keeping the journal, so the next run tries again) when a step fails.
 */
export async function rollbackJournal(run: RunEnv, journal: SetupJournal): Promise<void> {
  for (const f of [...journal.files].reverse()) await rollbackFile(run, f, journal.backups);
  const backups = backupFile(run.paths.stateDir);
  if ((await readTextIfExists(backups)) !== journal.backups_before) {
    if (journal.backups_before === undefined) await removeFileDurable(backups);
    else await writeFileAtomic(backups, journal.backups_before, { mode: 0o600 });
  }
  const config = journal.config_file;
  if ((await readTextIfExists(config)) !== journal.config_before) {
    if (journal.config_before === undefined) await removeFileDurable(config);
    else await writeFileAtomic(config, journal.config_before, { mode: 0o600 });
  }
  if (journal.created_key) {
    const store = await openStore(run);
    await store.delete(LOCAL_PROXY_KEY_NAME);
  }
  await endJournal(run);
}

async function rollbackFile(run: RunEnv, f: JournalFile, backups: Record<string, string>): Promise<void> {
  const now = await readTextIfExists(f.file);
  const { chmod, stat } = await import('node:fs/promises');
  if (now === f.before) {
    // Unchanged content; setup may still have narrowed its mode.
    if (now !== undefined && f.mode !== undefined) {
      const target = await resolveWriteTarget(f.file);
      if (((await stat(target)).mode & 0o7777) !== f.mode) await chmod(target, f.mode);
    }
    return;
  }
  if (now !== undefined && sha256(now) === f.after_sha256) {
    if (f.before === undefined) await removeCreated(f.file, f.record.created_dirs);
    else await writeFileAtomic(f.file, f.before, { mode: f.mode ?? 'preserve' });
    return;
  }
  if (now === undefined) {
    // Setup never deletes a file it found: someone removed it since the crash. Put it back.
    await writeFileAtomic(f.file, f.before!, { mode: f.mode ?? 'preserve' });
    return;
  }
  // Changed since the crash: undo gatepass' keys only, keeping the other edits (as teardown does).
  const r = await revertFile(f.record, backups);
  for (const p of r.drifted) {
    run.logger.warn(`${f.file}: ${p.join('.')} was changed since the interrupted setup; left in place`);
  }
}

function parseJournal(file: string, text: string): SetupJournal {
  try {
    const j = JSON.parse(text) as SetupJournal;
    if (j && j.v === VERSION && Array.isArray(j.files) && typeof j.config_file === 'string') return j;
  } catch {
    // reported below
  }
  throw new ToolConfigError(`${file} is malformed; it records an interrupted gatepass setup`, {
    path: file,
    hint: 'it holds the previous content of the files that setup was changing: restore what you need from it, then remove it',
  });
}

/**
 * Roll back a setup that died before it committed (if any) and clean the temp files dead gatepass
 * processes left behind. Call with the tools lock held. Returns true when there was one.
 */
export async function recoverInterruptedSetup(run: RunEnv): Promise<boolean> {
  const file = journalFile(run.paths.stateDir);
  await removeStaleTemps(run.paths.stateDir);
  // The launcher: gatepass' own file, rewritten by every setup and not journaled.
  await removeStaleTemps(path.dirname(launcherPath(run.paths.dataDir, run.platform)));
  const text = await readTextIfExists(file);
  if (text === undefined) {
    await removeConfiguredTemps(run);
    return false;
  }
  const journal = parseJournal(file, text);
  run.logger.warn(
    `a gatepass setup started ${journal.started} did not finish (pid ${journal.pid}); putting back what it changed`,
  );
  await rollbackJournal(run, journal);
  const dirs = new Set<string>([path.dirname(journal.config_file), path.join(run.paths.stateDir, 'secrets')]);
  for (const f of journal.files) dirs.add(path.dirname(await resolveWriteTarget(f.file)));
  for (const dir of dirs) await removeStaleTemps(dir);
  return true;
}

/**
 * Temp files a killed teardown (or an older setup) left next to the tool files gatepass wired and
 * next to the config file. Best effort: an unreadable config is reported by the caller's own load.
 */
async function removeConfiguredTemps(run: RunEnv): Promise<void> {
  const dirs = new Set<string>([path.dirname(run.paths.configFile)]);
  try {
    const { config } = await loadConfig(run.paths.configFile);
    for (const entry of config.configured_tools) {
      for (const record of fileRecords(entry)) dirs.add(path.dirname(await resolveWriteTarget(record.file)));
    }
  } catch {
    // the caller loads the config next and reports what is wrong with it
  }
  for (const dir of dirs) await removeStaleTemps(dir);
}

/** `status` and other readers: recover under the tools lock, but only when a journal is there. */
export async function recoverIfInterrupted(
  run: RunEnv,
  withLock: (fn: () => Promise<boolean>) => Promise<boolean>,
): Promise<void> {
  if ((await readTextIfExists(journalFile(run.paths.stateDir))) === undefined) {
    // A setup killed while writing its journal left only the journal's temp file.
    await removeStaleTemps(run.paths.stateDir);
    return;
  }
  try {
    await withLock(() => recoverInterruptedSetup(run));
  } catch (err) {
    run.logger.warn(`could not roll back the interrupted setup: ${describeError(err)}`);
  }
}

/** Put the config file back as it was (`undefined`: it did not exist). Best effort, for rollbacks. */
export async function restoreConfig(file: string, before: string | undefined): Promise<void> {
  const now = await readTextIfExists(file).catch(() => undefined);
  if (now === before) return;
  if (before === undefined) await fsp.rm(file, { force: true }).catch(() => {});
  else await writeFileAtomic(file, before, { mode: 0o600 }).catch(() => {});
}
