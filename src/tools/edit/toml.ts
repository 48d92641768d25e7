/**
 * TOML edits: the document is parsed (@decimalturn/toml-patch), the few keys gatepass owns are
 * changed on the plain object, and the text is spliced to match (`toml-splice.ts`): only the spans
 * of those keys change, every other byte stays, and reverting gives back the original bytes (the
 * inserted text and replaced source are recorded). When splicing cannot express an edit, the
 * library's `patch()` writes it (values right, nearby formatting possibly changed).
 */
import { ToolConfigError } from '../../errors.js';
import { afterFields, backupId, groupSettings, keyName, matchesAfter, nest, sameValue } from './common.js';
import { pathKey, type SpliceHints, spliceToml, VALUE_MARK } from './toml-splice.js';
import type { KeyChange, KeySetting, PatchResult, RevertResult } from './types.js';

type TomlModule = typeof import('@decimalturn/toml-patch');
type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function parseTomlDocument(toml: TomlModule, file: string, text: string): Table {
  try {
    const v = toml.parse(text) as unknown;
    return isTable(v) ? v : {};
  } catch (err) {
    const e = err as { line?: number; column?: number; message?: string };
    const where = e.line ? ` (line ${e.line}, column ${(e.column ?? 0) + 1})` : '';
    const first = String(e.message ?? err).split('\n')[0];
    throw new ToolConfigError(`${file} is not valid TOML${where}: ${first}; gatepass left it unchanged`, {
      path: file,
      cause: err,
      hint: 'fix the file (or move it aside) and run the command again',
    });
  }
}

function formatOf(toml: TomlModule, text: string) {
  const format = toml.TomlFormat.autoDetectFormat(text);
  // Nested tables gatepass adds become `[a.b]` sections (like a human would write), not inline.
  format.inlineTableStart = 3;
  return format;
}

/** `original` edited to hold `updated`: spliced byte-exactly when possible, else by `patch()`. */
function write(
  toml: TomlModule,
  file: string,
  original: string,
  updated: Table,
  hints?: SpliceHints,
): {
  text: string;
  spliced?: boolean;
  inserted?: Map<string, string>;
  replaced?: Map<string, string>;
  values?: Map<string, string>;
} {
  const format = formatOf(toml, original);
  const spliced = spliceToml(toml, original, parseTomlDocument(toml, file, original), updated, format, hints);
  if (spliced) return { ...spliced, spliced: true };
  try {
    return { text: toml.patch(original, updated, format) };
  } catch (err) {
    throw new ToolConfigError(
      `cannot update ${file}: ${(err as Error).message}; gatepass left it unchanged`,
      {
        path: file,
        cause: err,
      },
    );
  }
}

function getAt(obj: Table, path: string[]): { found: boolean; value: unknown } {
  let cur: unknown = obj;
  for (const k of path) {
    if (!isTable(cur) || !(k in cur)) return { found: false, value: undefined };
    cur = cur[k];
  }
  return { found: true, value: cur };
}

export async function loadToml(): Promise<TomlModule> {
  return import('@decimalturn/toml-patch');
}

export function patchToml(
  toml: TomlModule,
  file: string,
  text: string | undefined,
  settings: KeySetting[],
): PatchResult {
  const original = text ?? '';
  const doc = parseTomlDocument(toml, file, original);
  const changes: KeyChange[] = [];
  const backups: Record<string, string> = {};
  const grouped = groupSettings(settings, (p) => !getAt(doc, p).found);
  for (const setting of grouped) {
    let node: Table = doc;
    for (let i = 0; i < setting.path.length; i++) {
      const key = setting.path[i]!;
      const here = setting.path.slice(0, i + 1);
      if (!(key in node)) {
        const value = nest(setting.path.slice(i + 1), setting.value);
        node[key] = value;
        changes.push({ path: here, before_absent: true, ...afterFields(setting, value) });
        break;
      }
      if (i < setting.path.length - 1) {
        const next = node[key];
        if (!isTable(next)) {
          throw new ToolConfigError(
            `${file}: "${keyName(here)}" is not a TOML table, so gatepass cannot set ${keyName(setting.path)}; gatepass left the file unchanged`,
            { path: file, hint: `fix or remove "${keyName(here)}" and run the command again` },
          );
        }
        node = next;
        continue;
      }
      const current = node[key];
      if (sameValue(current, setting.value)) break;
      const change: KeyChange = { path: here, ...afterFields(setting, setting.value) };
      if (setting.secret) {
        const id = backupId(file, here);
        backups[id] = JSON.stringify(current);
        change.before_backup = id;
      } else change.before_value = current;
      node[key] = setting.value;
      changes.push(change);
    }
  }
  const written = changes.length ? write(toml, file, original, doc) : { text: original };
  const out = written.text;
  // Exact undo: the text each new key was added with, the source of each value replaced.
  for (const c of changes) {
    const inserted = c.before_absent ? written.inserted?.get(pathKey(c.path)) : undefined;
    if (c.after_sha256 !== undefined) {
      // A secret: only the layout around its value is recorded (a single `key = value` line).
      // A secret table: only the blank-line separator put before it.
      if (inserted === undefined) continue;
      if (isTable(getAt(doc, c.path).value)) {
        c.inserted = `${/^(\r?\n)*/.exec(inserted)![0]}${VALUE_MARK}`;
        continue;
      }
      const v = written.values?.get(pathKey(c.path));
      if (v !== undefined && inserted.split(v).length === 2) c.inserted = inserted.replace(v, VALUE_MARK);
      continue;
    }
    if (inserted !== undefined) c.inserted = inserted;
    const raw = c.before_absent ? undefined : written.replaced?.get(pathKey(c.path));
    if (raw !== undefined && c.before_backup === undefined) c.before_raw = raw;
  }
  // A blank file: remember its bytes for teardown (only whitespace: records are not private).
  if (text !== undefined && text !== '' && text.trim() === '' && changes[0])
    changes[0].document_before = text;
  return { text: out, changes, backups };
}

export function inspectToml(
  toml: TomlModule,
  file: string,
  text: string | undefined,
  changes: KeyChange[],
): Array<'wired' | 'drifted' | 'missing'> {
  if (text === undefined) return changes.map(() => 'missing');
  const doc = parseTomlDocument(toml, file, text);
  return changes.map((c) => {
    const at = getAt(doc, c.path);
    if (!at.found) return 'missing';
    return matchesAfter(c, at.value) ? 'wired' : 'drifted';
  });
}

export function revertToml(
  toml: TomlModule,
  file: string,
  text: string,
  changes: KeyChange[],
  backups: Record<string, string>,
): RevertResult {
  const doc = parseTomlDocument(toml, file, text);
  const drifted: string[][] = [];
  let touched = false;
  for (const change of [...changes].reverse()) {
    const parent = getAt(doc, change.path.slice(0, -1));
    const key = change.path[change.path.length - 1]!;
    if (!parent.found || !isTable(parent.value) || !(key in parent.value)) continue;
    const table = parent.value;
    const current = table[key];
    if (!matchesAfter(change, current)) {
      if (change.before_absent && isTable(change.after) && isTable(current)) {
        for (const [k, v] of Object.entries(change.after)) {
          if (sameValue(current[k], v)) {
            delete current[k];
            touched = true;
          } else if (k in current) drifted.push([...change.path, k]);
        }
        if (Object.keys(current).length === 0) delete table[key];
        continue;
      }
      drifted.push(change.path);
      continue;
    }
    touched = true;
    if (change.before_absent) delete table[key];
    else if (change.before_backup !== undefined) {
      const raw = backups[change.before_backup];
      if (raw === undefined) drifted.push(change.path);
      else table[key] = JSON.parse(raw);
    } else table[key] = change.before_value;
  }
  const hints: SpliceHints = { inserted: new Map(), raw: new Map() };
  for (const c of changes) {
    if (c.inserted !== undefined) hints.inserted!.set(pathKey(c.path), c.inserted);
    if (c.before_raw !== undefined) hints.raw!.set(pathKey(c.path), c.before_raw);
  }
  const written = touched ? write(toml, file, text, doc, hints) : { text };
  const out = written.text;
  const empty = Object.keys(doc).length === 0;
  // Nothing left: the file held only comments and blank lines before setup, which stay in front of
  // what gatepass appended — give them back as they were (toml-patch drops them with the last key).
  if (empty && touched && !written.spliced) {
    const blank = changes.find((c) => c.document_before !== undefined)?.document_before;
    return { text: blank ?? leadingTrivia(text), drifted, empty };
  }
  return { text: out, drifted, empty };
}

/** The comment and blank lines a TOML text starts with. */
function leadingTrivia(text: string): string {
  let end = 0;
  for (const m of text.matchAll(/[^\n]*(\n|$)/g)) {
    const line = m[0];
    if (line === '' || !/^[ \t]*(#.*)?\r?\n?$/.test(line)) break;
    end += line.length;
  }
  return text.slice(0, end);
}
