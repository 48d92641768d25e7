/** Helpers shared by the JSON, TOML and dotenv editors. */
import { createHash } from 'node:crypto';
import type { KeyChange, KeySetting } from './types.js';

export function sha256(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}

/** sha256 of a file's text (hex). */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function detectEol(text: string): '\n' | '\r\n' {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** The indentation unit a file uses (first indented line), default two spaces. */
export function detectIndent(text: string): string {
  const m = /^([ \t]+)\S/m.exec(text);
  return m?.[1] ?? '  ';
}

/** Nest `value` under `path` ([] → value itself). */
export function nest(path: string[], value: unknown): unknown {
  let v = value;
  for (let i = path.length - 1; i >= 0; i--) v = { [path[i]!]: v };
  return v;
}

/** JSON text of a value with object keys sorted (plain data; class instances compare by content). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return typeof v === 'bigint' ? Number(v) : v;
  });
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** Does the current value still equal what gatepass wrote? */
export function matchesAfter(change: KeyChange, current: unknown): boolean {
  if (change.after_sha256 !== undefined) return sha256(current) === change.after_sha256;
  return sameValue(current, change.after);
}

/**
 * Fold settings that land inside a container created by an earlier setting into that container's
 * value, so one change record covers the whole new object. `missingAt(path)` tells whether the
 * key at `path` is absent from the document.
 */
export function groupSettings(settings: KeySetting[], missingAt: (path: string[]) => boolean): KeySetting[] {
  const out: KeySetting[] = [];
  const used = new Set<number>();
  settings.forEach((s, i) => {
    if (used.has(i)) return;
    let depth = -1;
    for (let d = 0; d < s.path.length - 1; d++) {
      if (missingAt(s.path.slice(0, d + 1))) {
        depth = d;
        break;
      }
    }
    if (depth < 0) {
      out.push(s);
      return;
    }
    const prefix = s.path.slice(0, depth + 1);
    const value: Record<string, unknown> = {};
    let secret = false;
    settings.forEach((t, j) => {
      if (j < i || used.has(j)) return;
      if (t.path.length <= prefix.length || !prefix.every((p, k) => t.path[k] === p)) return;
      used.add(j);
      secret ||= Boolean(t.secret);
      let cur = value;
      const rest = t.path.slice(prefix.length);
      for (const k of rest.slice(0, -1)) {
        if (!cur[k] || typeof cur[k] !== 'object') cur[k] = {};
        cur = cur[k] as Record<string, unknown>;
      }
      cur[rest[rest.length - 1]!] = t.value;
    });
    out.push({ path: prefix, value, ...(secret ? { secret } : {}) });
  });
  return out;
}

export function afterFields(
  setting: KeySetting,
  written: unknown,
): Pick<KeyChange, 'after' | 'after_sha256'> {
  return setting.secret ? { after_sha256: sha256(written) } : { after: written };
}

export function backupId(file: string, path: string[]): string {
  return createHash('sha256')
    .update(`${file}\u0000${path.join('\u0000')}`)
    .digest('hex')
    .slice(0, 16);
}

export function keyName(path: string[]): string {
  return path.join('.');
}

export function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}
