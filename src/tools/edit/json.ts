/**
 * Surgical JSON/JSONC edits: gatepass inserts, replaces and removes single properties as text, so
 * every comment, blank line and the formatting of untouched values survive, and removing what it
 * inserted gives back the original bytes. jsonc-parser supplies the syntax tree and scanner; the
 * edit layout (indentation, EOL) follows the file's own.
 *
 * This module is the entry point (and `inspectJson`); json-tree.ts parses and navigates,
 * json-text.ts computes the text edits, json-patch.ts applies settings, json-revert.ts undoes them.
 */
import { getNodeValue } from 'jsonc-parser';
import { matchesAfter } from './common.js';
import { findElement, parseJsonDocument, rootOf, valueAt } from './json-tree.js';
import type { KeyChange } from './types.js';

export { patchJson } from './json-patch.js';
export { revertJson } from './json-revert.js';
export { type JsonRoot, parseJsonDocument } from './json-tree.js';

/** State of each recorded change in the current document. */
export function inspectJson(
  file: string,
  text: string | undefined,
  changes: KeyChange[],
): Array<'wired' | 'drifted' | 'missing'> {
  if (text === undefined) return changes.map(() => 'missing');
  const root = parseJsonDocument(file, text, rootOf(changes));
  return changes.map((c) => {
    if (c.element) {
      const el = findElement(file, root, c.path, c.element);
      if (!el) return 'missing';
      return matchesAfter(c, getNodeValue(el)) ? 'wired' : 'drifted';
    }
    const at = valueAt(root, c.path);
    if (!at) return 'missing';
    return matchesAfter(c, at.value) ? 'wired' : 'drifted';
  });
}
