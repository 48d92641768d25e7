/**
 * `revertJson`: undo recorded changes of a JSON/JSONC document, newest first; keys and elements the
 * user changed since are left alone and reported as drifted.
 */
import { getNodeValue, type Node } from 'jsonc-parser';
import { matchesAfter } from './common.js';
import { applyEdits, removeProperty } from './json-text.js';
import { findElement, isPlainObject, parseJsonDocument, rootOf, valueAt } from './json-tree.js';
import type { KeyChange, RevertResult } from './types.js';

/** Undo `changes` (newest first); keys the user changed since are left alone and reported. */
export function revertJson(
  file: string,
  text: string,
  changes: KeyChange[],
  backups: Record<string, string>,
): RevertResult {
  let cur = text;
  const drifted: string[][] = [];
  const kind = rootOf(changes);
  for (const change of [...changes].reverse()) {
    const root = parseJsonDocument(file, cur, kind);
    if (change.element) {
      const r = revertElement(file, cur, root, change, backups);
      cur = r.text;
      if (r.drifted) drifted.push(change.path);
      continue;
    }
    const at = valueAt(root, change.path);
    if (!at) continue; // already gone: nothing to undo
    if (!matchesAfter(change, at.value)) {
      if (change.before_absent && isPlainObject(change.after) && isPlainObject(at.value)) {
        // gatepass created this object and the user added to it: remove only gatepass's keys.
        const sub = Object.entries(change.after).map(([k, v]) => ({
          path: [...change.path, k],
          before_absent: true,
          after: v,
        }));
        const r = revertJson(file, cur, sub, backups);
        cur = r.text;
        const left = valueAt(parseJsonDocument(file, cur), change.path);
        if (left && isPlainObject(left.value) && Object.keys(left.value).length === 0) {
          cur = applyEdits(cur, removeProperty(cur, left.prop, undefined));
        }
        drifted.push(...r.drifted);
        continue;
      }
      drifted.push(change.path);
      continue;
    }
    const valueNode = at.prop.children![1]!;
    if (change.before_absent) {
      cur = applyEdits(cur, removeProperty(cur, at.prop, change.container_inner));
    } else {
      const raw = change.before_backup !== undefined ? backups[change.before_backup] : change.before_raw;
      if (raw === undefined) {
        drifted.push(change.path);
        continue;
      }
      cur = applyEdits(cur, [{ offset: valueNode.offset, length: valueNode.length, content: raw }]);
    }
  }
  const root = parseJsonDocument(file, cur, kind);
  const empty = !root.children?.length;
  const blank = changes.find((c) => c.document_before !== undefined)?.document_before;
  if (empty && blank !== undefined) return { text: blank, drifted, empty };
  return { text: cur, drifted, empty };
}

function revertElement(
  file: string,
  text: string,
  root: Node,
  change: KeyChange,
  backups: Record<string, string>,
): { text: string; drifted: boolean } {
  const el = findElement(file, root, change.path, change.element!);
  if (!el) return { text, drifted: false };
  if (!matchesAfter(change, getNodeValue(el))) return { text, drifted: true };
  if (!change.before_absent) {
    const raw = change.before_backup !== undefined ? backups[change.before_backup] : change.before_raw;
    if (raw === undefined) return { text, drifted: true };
    return {
      text: applyEdits(text, [{ offset: el.offset, length: el.length, content: raw }]),
      drifted: false,
    };
  }
  let cur = applyEdits(text, removeProperty(text, el, change.container_inner));
  if (change.array_created) {
    const left = valueAt(parseJsonDocument(file, cur), change.path);
    if (left && Array.isArray(left.value) && left.value.length === 0) {
      cur = applyEdits(cur, removeProperty(cur, left.prop, undefined));
    }
  }
  return { text: cur, drifted: false };
}
