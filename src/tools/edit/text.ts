/**
 * Whole files gatepass owns (a credential-helper script): the one setting (path []) is the file's
 * entire content. A file that was there before is recorded and put back on teardown.
 */
import { sha256 } from './common.js';
import type { KeyChange, KeySetting, KeyState, PatchResult, RevertResult } from './types.js';

export function patchWhole(text: string | undefined, settings: KeySetting[]): PatchResult {
  const setting = settings[0];
  if (!setting || settings.length !== 1 || setting.path.length !== 0 || typeof setting.value !== 'string') {
    throw new Error('a text file plan takes exactly one setting: the whole content (path [])');
  }
  if (text === setting.value) return { text, changes: [], backups: {} };
  // Only a hash of what gatepass wrote goes into the record (the config file stays readable).
  const change: KeyChange = {
    path: [],
    after_sha256: sha256(setting.value),
    ...(text === undefined ? { before_absent: true } : { before_raw: text }),
  };
  return { text: setting.value, changes: [change], backups: {} };
}

export function revertWhole(text: string, changes: KeyChange[]): RevertResult {
  let cur = text;
  const drifted: string[][] = [];
  for (const c of [...changes].reverse()) {
    if (sha256(cur) !== c.after_sha256) {
      drifted.push(c.path);
      continue;
    }
    cur = c.before_absent ? '' : (c.before_raw ?? '');
  }
  return { text: cur, drifted, empty: cur === '' };
}

export function inspectWhole(text: string | undefined, changes: KeyChange[]): KeyState[] {
  return changes.map((c) =>
    text === undefined ? 'missing' : sha256(text) === c.after_sha256 ? 'wired' : 'drifted',
  );
}
