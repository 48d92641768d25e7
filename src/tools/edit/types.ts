/**
 * The record of what gatepass changed in another tool's file, persisted in `configured_tools` so
 * teardown can undo exactly that and nothing else. Values of secret keys (API keys) are never
 * recorded: their previous value goes to a private backup file and only a hash of the new value is
 * kept for drift detection.
 */

/** `text`: a whole file gatepass owns (e.g. a helper script); its one setting has the path []. */
export type FileFormat = 'json' | 'toml' | 'dotenv' | 'text';

/** A key to set: a path into the document (for dotenv a single variable name). */
export interface KeySetting {
  path: string[];
  value: unknown;
  /** The value is a secret (the local proxy key): hash it in records, back up the previous value privately. */
  secret?: boolean;
  /**
   * JSON only: `value` is one element of the array at `path`, identified by its `key` property
   * (e.g. an entry of Claude Desktop's `_meta.json`): it is added or replaced, never the whole array.
   */
  element?: { key: string };
}

export interface KeyChange {
  path: string[];
  /** The key did not exist before gatepass set it. */
  before_absent?: boolean;
  /** Source text of the previous value (JSON/TOML raw value, dotenv whole line), when not secret. */
  before_raw?: string;
  /** The previous value is kept in the private backup file under this id. */
  before_backup?: string;
  /**
   * TOML: the exact text setup inserted for this new key or table (non-secret keys), cut out as is
   * on teardown while it is still there unchanged.
   */
  inserted?: string;
  /** TOML: the previous value itself (non-secret keys). */
  before_value?: unknown;
  /** The value gatepass wrote (non-secret keys). */
  after?: unknown;
  /** sha256 of the value gatepass wrote (secret keys). */
  after_sha256?: string;
  /** JSON only: the original text between the braces of an object that was empty before. */
  container_inner?: string;
  /**
   * JSON/TOML: the file was blank (empty or whitespace only) before: its exact text, put back when
   * teardown leaves the document empty. Never anything but whitespace (records are not private).
   */
  document_before?: string;
  /** JSON arrays: the change is to the element whose `key` property is `id` (see KeySetting.element). */
  element?: { key: string; id: string };
  /** JSON arrays: gatepass created the array for this element (removed again when left empty). */
  array_created?: boolean;
}

export interface FileChange {
  file: string;
  format: FileFormat;
  /** gatepass created the file (teardown removes it when nothing else is left in it). */
  created: boolean;
  /** Directories gatepass created for it, deepest first (removed on teardown when empty). */
  created_dirs: string[];
  /**
   * The file was readable by others when setup put a secret (the local proxy key) in it, so setup
   * made it 0600: its mode before, put back by teardown once the secret is gone.
   */
  mode_before?: number;
  changes: KeyChange[];
  /** sha256 of the file's text before the first setup (absent: created, or unknown). */
  before_sha256?: string;
  /** sha256 of the text setup wrote: teardown tells a file edited since from one it restores. */
  written_sha256?: string;
}

/** Result of patching one document in memory. */
export interface PatchResult {
  text: string;
  changes: KeyChange[];
  /** Previous values of secret keys, by backup id (to be stored privately). */
  backups: Record<string, string>;
}

export interface RevertResult {
  text: string;
  /** Keys the user changed since setup: left alone. */
  drifted: string[][];
  /** True when the document holds nothing any more (an empty object / empty file). */
  empty: boolean;
}

export type KeyState = 'wired' | 'drifted' | 'missing';
