/** Helpers shared by the JSON, TOML and dotenv editors. */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KeyChange, KeySetting } from './types.js';

export function sha256(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
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

/** Does the current value still equal what gatepass wrote? */
export function matchesAfter(change: KeyChange, current: unknown): boolean {
  if (change.after_sha256 !== undefined) return sha256(current) === change.after_sha256;
  return isDeepStrictEqual(current, change.after);
}

export function afterFields(setting: KeySetting, written: unknown): Pick<KeyChange, 'after' | 'after_sha256'> {
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

/** A record for an existing change at the same path, if any (re-runs keep the first `before`). */
export function findChange(changes: KeyChange[], path: string[]): KeyChange | undefined {
  return changes.find((c) => isDeepStrictEqual(c.path, path));
}
