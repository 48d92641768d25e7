/**
 * Line-preserving `.env` edits: gatepass replaces or appends single `KEY=VALUE` lines and never
 * touches any other line, comment or blank line. Reverting puts back the exact previous line.
 */
import { afterFields, backupId, matchesAfter } from './common.js';
import type { KeyChange, KeySetting, PatchResult, RevertResult } from './types.js';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/;

/** Quote a value when it needs it (spaces, #, quotes, backslashes, $). */
export function quoteDotenv(value: string): string {
  if (/^[A-Za-z0-9_./:@+,=-]*$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function unquoteDotenv(raw: string): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    const end = v.lastIndexOf('"');
    return v
      .slice(1, end > 0 ? end : undefined)
      .replace(/\\n/g, '\n')
      .replace(/\\(["\\])/g, '$1');
  }
  if (v.startsWith("'")) {
    const end = v.lastIndexOf("'");
    return v.slice(1, end > 0 ? end : undefined);
  }
  return v.replace(/\s+#.*$/, '');
}

interface Parsed {
  lines: string[];
  /** Each line's own line break ('' for a last line without one): mixed endings are kept. */
  eols: string[];
  /** The break for lines gatepass adds (the file's first). */
  eol: string;
  /** The text ended with a line break. */
  terminated: boolean;
}

function split(text: string): Parsed {
  const eol = /\r?\n/.exec(text)?.[0] ?? '\n';
  if (text === '') return { lines: [], eols: [], eol, terminated: true };
  const parts = text.split(/(\r?\n)/);
  const lines: string[] = [];
  const eols: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    lines.push(parts[i]!);
    eols.push(parts[i + 1] ?? '');
  }
  const terminated = eols[eols.length - 1] === '' && lines[lines.length - 1] === '' && lines.length > 1;
  if (terminated) {
    lines.pop();
    eols.pop();
  }
  return { lines, eols, eol, terminated };
}

function join(p: Parsed): string {
  return p.lines.map((l, i) => l + (p.eols[i] ?? p.eol)).join('');
}

/** Index of the line that defines `key` (the last one wins, as in most dotenv loaders). */
function findLine(lines: string[], key: string): number {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = LINE.exec(lines[i]!);
    if (m && m[1] === key) return i;
  }
  return -1;
}

export function readDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of split(text).lines) {
    const m = LINE.exec(line);
    if (m) out[m[1]!] = unquoteDotenv(m[2]!);
  }
  return out;
}

export function patchDotenv(file: string, text: string | undefined, settings: KeySetting[]): PatchResult {
  const p = split(text ?? '');
  const changes: KeyChange[] = [];
  const backups: Record<string, string> = {};
  for (const setting of settings) {
    const key = setting.path[0]!;
    const value = String(setting.value);
    const line = `${key}=${quoteDotenv(value)}`;
    const idx = findLine(p.lines, key);
    if (idx >= 0) {
      const m = LINE.exec(p.lines[idx]!)!;
      if (unquoteDotenv(m[2]!) === value) continue;
      const change: KeyChange = { path: [key], ...afterFields(setting, value) };
      if (setting.secret) {
        const id = backupId(file, [key]);
        backups[id] = p.lines[idx]!;
        change.before_backup = id;
      } else change.before_raw = p.lines[idx]!;
      p.lines[idx] = line;
      changes.push(change);
      continue;
    }
    const change: KeyChange = { path: [key], before_absent: true, ...afterFields(setting, value) };
    if (!p.terminated) {
      // The last line had no line break: gatepass adds one and takes it away again on teardown.
      change.container_inner = 'unterminated';
      p.terminated = true;
      p.eols[p.eols.length - 1] = p.eol;
    }
    p.lines.push(line);
    p.eols.push(p.eol);
    changes.push(change);
  }
  return { text: join(p), changes, backups };
}

export function inspectDotenv(
  text: string | undefined,
  changes: KeyChange[],
): Array<'wired' | 'drifted' | 'missing'> {
  if (text === undefined) return changes.map(() => 'missing');
  const values = readDotenv(text);
  return changes.map((c) => {
    const v = values[c.path[0]!];
    if (v === undefined) return 'missing';
    return matchesAfter(c, v) ? 'wired' : 'drifted';
  });
}

export function revertDotenv(
  _file: string,
  text: string,
  changes: KeyChange[],
  backups: Record<string, string>,
): RevertResult {
  const p = split(text);
  const drifted: string[][] = [];
  for (const change of [...changes].reverse()) {
    const key = change.path[0]!;
    const idx = findLine(p.lines, key);
    if (idx < 0) continue;
    const value = unquoteDotenv(LINE.exec(p.lines[idx]!)![2]!);
    if (!matchesAfter(change, value)) {
      drifted.push(change.path);
      continue;
    }
    if (change.before_absent) {
      p.lines.splice(idx, 1);
      p.eols.splice(idx, 1);
      if (change.container_inner === 'unterminated' && idx === p.lines.length && idx > 0) {
        p.terminated = false;
        p.eols[idx - 1] = '';
      }
      continue;
    }
    const raw = change.before_backup !== undefined ? backups[change.before_backup] : change.before_raw;
    if (raw === undefined) drifted.push(change.path);
    else p.lines[idx] = raw;
  }
  const out = join(p);
  return { text: out, drifted, empty: out.trim() === '' };
}
