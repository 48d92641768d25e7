/**
 * Text edits of a JSON/JSONC document: where a property or array element goes, with the file's own
 * indentation and line endings, and which bytes to cut to remove one again (its comma, its line) —
 * so removing what gatepass inserted gives back the original bytes. Offsets come from jsonc-parser's
 * tree and scanner.
 */
import { createScanner, type Node } from 'jsonc-parser';

const COMMA = 5;
const CLOSE_BRACE = 2;
const LINE_COMMENT = 12;
const BLOCK_COMMENT = 13;
const LINE_BREAK = 14;
const TRIVIA = 15;

export interface Edit {
  offset: number;
  length: number;
  content: string;
}

export function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // Back to front; of two edits at the same offset the later one is applied first, so the earlier
  // one's text ends up in front of it.
  const order = edits.map((e, i) => ({ e, i })).sort((a, b) => b.e.offset - a.e.offset || b.i - a.i);
  for (const { e } of order) {
    out = out.slice(0, e.offset) + e.content + out.slice(e.offset + e.length);
  }
  return out;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Whitespace before `offset` on its line, when only whitespace precedes it. */
function leadingIndent(text: string, offset: number): string | undefined {
  const s = text.slice(lineStart(text, offset), offset);
  return /^[ \t]*$/.test(s) ? s : undefined;
}

export function lineIndent(text: string, offset: number): string {
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

export function serialize(value: unknown, indent: string, unit: string, eol: string): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, eol + indent);
}

export function insertProperty(
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

export function removeProperty(text: string, prop: Node, containerInner: string | undefined): Edit[] {
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
