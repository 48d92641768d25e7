/**
 * Surgical JSON/JSONC edits: gatepass inserts, replaces and removes single properties as text, so
 * every comment, blank line and the formatting of untouched values survive, and removing what it
 * inserted gives back the original bytes. jsonc-parser supplies the syntax tree and scanner; the
 * edit layout (indentation, EOL) follows the file's own.
 */
import {
  createScanner,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import { ToolConfigError } from '../../errors.js';
import {
  afterFields,
  backupId,
  detectEol,
  detectIndent,
  groupSettings,
  keyName,
  lineCol,
  matchesAfter,
  nest,
  sameValue,
} from './common.js';
import type { KeyChange, KeySetting, PatchResult, RevertResult } from './types.js';

const COMMA = 5;
const CLOSE_BRACE = 2;
const LINE_COMMENT = 12;
const BLOCK_COMMENT = 13;
const LINE_BREAK = 14;
const TRIVIA = 15;

interface Edit {
  offset: number;
  length: number;
  content: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // Back to front; of two edits at the same offset the later one is applied first, so the earlier
  // one's text ends up in front of it.
  const order = edits.map((e, i) => ({ e, i })).sort((a, b) => b.e.offset - a.e.offset || b.i - a.i);
  for (const { e } of order) {
    out = out.slice(0, e.offset) + e.content + out.slice(e.offset + e.length);
  }
  return out;
}

/** What a document's top level must be: an object, or (a list of entries, e.g. VS Code's
 * `chatLanguageModels.json`) an array. */
export type JsonRoot = 'object' | 'array';

/** Parse or throw a ToolConfigError naming the file, line and column. */
export function parseJsonDocument(file: string, text: string, kind: JsonRoot = 'object'): Node {
  const errors: ParseError[] = [];
  // A UTF-8 BOM (Windows editors) parses as a space: same length, so every offset stays right.
  const root = parseTree(text.replace(/^\uFEFF/, ' '), errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  if (errors.length || !root) {
    const e = errors[0];
    const pos = e ? lineCol(text, e.offset) : { line: 1, col: 1 };
    throw new ToolConfigError(
      `${file} is not valid JSON (line ${pos.line}, column ${pos.col}: ${e ? printParseErrorCode(e.error) : 'empty document'}); gatepass left it unchanged`,
      { path: file, hint: 'fix the file (or move it aside) and run the command again' },
    );
  }
  if (root.type !== kind) {
    throw new ToolConfigError(`${file} does not hold a JSON ${kind}; gatepass left it unchanged`, {
      path: file,
    });
  }
  return root;
}

/** Settings / changes addressing elements of the top-level array (path []) mean an array document. */
function rootOf(items: Array<{ path: string[]; element?: unknown }>): JsonRoot {
  return items.some((i) => i.element && i.path.length === 0) ? 'array' : 'object';
}

function childProperty(obj: Node, key: string): Node | undefined {
  return obj.children?.find((p) => p.children?.[0]?.value === key);
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Whitespace before `offset` on its line, when only whitespace precedes it. */
function leadingIndent(text: string, offset: number): string | undefined {
  const s = text.slice(lineStart(text, offset), offset);
  return /^[ \t]*$/.test(s) ? s : undefined;
}

function lineIndent(text: string, offset: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart(text, offset)))![0];
}

/** The first token after `offset` that is not whitespace or a comment. */
function nextSignificant(text: string, offset: number): { kind: number; offset: number } {
  const scanner = createScanner(text.slice(offset), false);
  for (;;) {
    const kind = scanner.scan();
    if (kind === TRIVIA || kind === LINE_BREAK || kind === LINE_COMMENT || kind === BLOCK_COMMENT) continue;
    return { kind, offset: offset + scanner.getTokenOffset() };
  }
}

function serialize(value: unknown, indent: string, unit: string, eol: string): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, eol + indent);
}

function insertProperty(
  text: string,
  obj: Node,
  key: string | undefined,
  value: unknown,
  unit: string,
  eol: string,
): Edit[] {
  // key undefined: append an element to the array `obj`.
  const label = key === undefined ? '' : `${JSON.stringify(key)}: `;
  const open = obj.offset;
  const close = obj.offset + obj.length - 1;
  const props = obj.children ?? [];
  const last = props[props.length - 1];
  if (!last) {
    const indent = lineIndent(text, open) + unit;
    return [
      {
        offset: open + 1,
        length: close - open - 1,
        content: `${eol}${indent}${label}${serialize(value, indent, unit, eol)}${eol}${lineIndent(text, open)}`,
      },
    ];
  }
  const lastEnd = last.offset + last.length;
  const nl = text.slice(lastEnd, close).search(/\r?\n/);
  if (nl < 0) {
    // Single-line object: `{ "a": 1 }` → `{ "a": 1, "k": v }`.
    return [{ offset: lastEnd, length: 0, content: `, ${label}${JSON.stringify(value)}` }];
  }
  const indent = leadingIndent(text, props[0]!.offset) ?? lineIndent(text, open) + unit;
  const next = nextSignificant(text, lastEnd);
  const prop = `${label}${serialize(value, indent, unit, eol)}`;
  if (next.kind === COMMA) {
    const after = next.offset + 1;
    const end = after + Math.max(0, text.slice(after).search(/\r?\n/));
    return [{ offset: end, length: 0, content: `${eol}${indent}${prop},` }];
  }
  return [
    { offset: lastEnd, length: 0, content: ',' },
    { offset: lastEnd + nl, length: 0, content: `${eol}${indent}${prop}` },
  ];
}

function removeProperty(text: string, prop: Node, containerInner: string | undefined): Edit[] {
  const obj = prop.parent!;
  const props = obj.children!;
  const idx = props.indexOf(prop);
  const propEnd = prop.offset + prop.length;
  if (props.length === 1) {
    const open = obj.offset;
    const close = obj.offset + obj.length - 1;
    return [{ offset: open + 1, length: close - open - 1, content: containerInner ?? '' }];
  }
  const next = nextSignificant(text, propEnd);
  const isLast = next.kind === CLOSE_BRACE || idx === props.length - 1;
  const own = leadingIndent(text, prop.offset) !== undefined;
  if (own) {
    const ls = lineStart(text, prop.offset);
    const start = ls >= 2 && text[ls - 2] === '\r' ? ls - 2 : Math.max(0, ls - 1);
    const edits: Edit[] = [{ offset: start, length: propEnd - start, content: '' }];
    if (next.kind === COMMA) edits.push({ offset: next.offset, length: 1, content: '' });
    else if (isLast) {
      const prev = props[idx - 1]!;
      const comma = nextSignificant(text, prev.offset + prev.length);
      if (comma.kind === COMMA && comma.offset < start)
        edits.push({ offset: comma.offset, length: 1, content: '' });
    }
    return edits;
  }
  if (!isLast) return [{ offset: prop.offset, length: props[idx + 1]!.offset - prop.offset, content: '' }];
  const prev = props[idx - 1]!;
  const prevEnd = prev.offset + prev.length;
  return [{ offset: prevEnd, length: propEnd - prevEnd, content: '' }];
}

/** Apply `settings` to a JSON document (`text` undefined = the file does not exist). */
export function patchJson(file: string, text: string | undefined, settings: KeySetting[]): PatchResult {
  const eol = text ? detectEol(text) : '\n';
  const unit = text ? detectIndent(text) : '  ';
  const kind = rootOf(settings);
  let cur = text === undefined || text.trim() === '' ? `${kind === 'array' ? '[]' : '{}'}${eol}` : text;
  const changes: KeyChange[] = [];
  const backups: Record<string, string> = {};
  const plain = settings.filter((s) => !s.element);
  refuseDuplicates(file, parseJsonDocument(file, cur, kind), settings);
  const grouped = groupSettings(plain, (p) => !valueAt(parseJsonDocument(file, cur), p));
  for (const setting of grouped) {
    const root = parseJsonDocument(file, cur);
    let node = root;
    for (let i = 0; i < setting.path.length; i++) {
      const key = setting.path[i]!;
      const prop = childProperty(node, key);
      const here = setting.path.slice(0, i + 1);
      if (!prop) {
        const value = nest(setting.path.slice(i + 1), setting.value);
        const empty = !node.children?.length;
        const inner = empty ? cur.slice(node.offset + 1, node.offset + node.length - 1) : undefined;
        cur = applyEdits(cur, insertProperty(cur, node, key, value, unit, eol));
        changes.push({
          path: here,
          before_absent: true,
          ...afterFields(setting, value),
          ...(inner !== undefined && inner !== '' ? { container_inner: inner } : {}),
        });
        break;
      }
      const valueNode = prop.children![1]!;
      if (i < setting.path.length - 1) {
        if (valueNode.type !== 'object') {
          throw new ToolConfigError(
            `${file}: "${keyName(here)}" is not a JSON object, so gatepass cannot set ${keyName(setting.path)}; gatepass left the file unchanged`,
            { path: file, hint: `fix or remove "${keyName(here)}" and run the command again` },
          );
        }
        node = valueNode;
        continue;
      }
      const current = getNodeValue(valueNode);
      if (sameValue(current, setting.value)) break;
      const raw = cur.slice(valueNode.offset, valueNode.offset + valueNode.length);
      const change: KeyChange = { path: here, ...afterFields(setting, setting.value) };
      if (setting.secret) {
        const id = backupId(file, here);
        backups[id] = raw;
        change.before_backup = id;
      } else change.before_raw = raw;
      const indent = lineIndent(cur, prop.offset);
      cur = applyEdits(cur, [
        {
          offset: valueNode.offset,
          length: valueNode.length,
          content: serialize(setting.value, indent, unit, eol),
        },
      ]);
      changes.push(change);
    }
  }
  for (const setting of settings.filter((s) => s.element)) {
    const r = patchElement(file, cur, setting, unit, eol, kind);
    cur = r.text;
    if (r.change) changes.push(r.change);
    Object.assign(backups, r.backups);
  }
  // An existing blank file became `{…}`: remember its bytes so teardown can give them back.
  if (text !== undefined && text.trim() === '' && changes[0]) changes[0].document_before = text;
  return { text: cur, changes, backups };
}

/**
 * A key gatepass would edit that appears twice in its object: JSON readers take the last one, so an
 * edit of either could silently not take effect (or hide the user's value). Refused, untouched.
 */
function refuseDuplicates(file: string, root: Node, settings: KeySetting[]): void {
  for (const setting of settings) {
    let node: Node | undefined = root;
    for (let i = 0; i < setting.path.length && node?.type === 'object'; i++) {
      const key = setting.path[i]!;
      const props: Node[] = (node.children ?? []).filter((p) => p.children?.[0]?.value === key);
      if (props.length > 1) {
        const name = keyName(setting.path.slice(0, i + 1));
        throw new ToolConfigError(
          `${file}: "${name}" appears ${props.length} times, so gatepass cannot tell which one the tool reads; gatepass left the file unchanged`,
          { path: file, hint: `keep a single "${name}" and run the command again` },
        );
      }
      node = props[0]?.children?.[1];
    }
  }
}

function valueAt(root: Node, path: string[]): { prop: Node; value: unknown } | undefined {
  let node: Node | undefined = root;
  let prop: Node | undefined;
  for (const key of path) {
    if (node?.type !== 'object') return undefined;
    prop = childProperty(node, key);
    if (!prop) return undefined;
    node = prop.children![1];
  }
  return prop ? { prop, value: getNodeValue(prop.children![1]!) } : undefined;
}

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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Array elements identified by a key (KeySetting.element).

function arrayAt(file: string, root: Node, path: string[]): Node | undefined {
  if (path.length === 0) return root.type === 'array' ? root : undefined;
  const at = valueAt(root, path);
  if (!at) return undefined;
  const node = at.prop.children![1]!;
  if (node.type !== 'array') {
    throw new ToolConfigError(
      `${file}: "${keyName(path)}" is not a JSON array; gatepass left the file unchanged`,
      { path: file, hint: `fix or remove "${keyName(path)}" and run the command again` },
    );
  }
  return node;
}

function findElement(
  file: string,
  root: Node,
  path: string[],
  element: { key: string; id: string },
): Node | undefined {
  const arr = arrayAt(file, root, path);
  return arr?.children?.find(
    (el) => el.type === 'object' && childProperty(el, element.key)?.children?.[1]?.value === element.id,
  );
}

function patchElement(
  file: string,
  text: string,
  setting: KeySetting,
  unit: string,
  eol: string,
  kind: JsonRoot,
): { text: string; change?: KeyChange; backups: Record<string, string> } {
  const key = setting.element!.key;
  const id = (setting.value as Record<string, unknown>)[key];
  if (typeof id !== 'string') throw new Error(`element setting without a string ${key}`);
  const element = { key, id };
  // An element holding a secret (the local proxy key) is recorded by hash; an entry of the user's it
  // replaces goes to the private backups, never into the record.
  const after = afterFields(setting, setting.value);
  const root = parseJsonDocument(file, text, kind);
  const arr = arrayAt(file, root, setting.path);
  if (!arr) {
    const r = patchJson(file, text, [{ path: setting.path, value: [setting.value] }]);
    return {
      text: r.text,
      change: { path: setting.path, element, before_absent: true, array_created: true, ...after },
      backups: {},
    };
  }
  const existing = findElement(file, root, setting.path, element);
  if (existing) {
    if (sameValue(getNodeValue(existing), setting.value)) return { text, backups: {} };
    const raw = text.slice(existing.offset, existing.offset + existing.length);
    const indent = lineIndent(text, existing.offset);
    const change: KeyChange = { path: setting.path, element, ...after };
    const backups: Record<string, string> = {};
    if (setting.secret) {
      const bid = backupId(file, [...setting.path, `[${key}=${id}]`]);
      backups[bid] = raw;
      change.before_backup = bid;
    } else change.before_raw = raw;
    return {
      text: applyEdits(text, [
        {
          offset: existing.offset,
          length: existing.length,
          content: serialize(setting.value, indent, unit, eol),
        },
      ]),
      change,
      backups,
    };
  }
  const empty = !arr.children?.length;
  const inner = empty ? text.slice(arr.offset + 1, arr.offset + arr.length - 1) : undefined;
  return {
    text: applyEdits(text, insertProperty(text, arr, undefined, setting.value, unit, eol)),
    change: {
      path: setting.path,
      element,
      before_absent: true,
      ...after,
      ...(inner !== undefined && inner !== '' ? { container_inner: inner } : {}),
    },
    backups: {},
  };
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
