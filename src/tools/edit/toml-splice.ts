/**
 * Byte-exact TOML edits: turn one document value into another by splicing only the spans of the
 * keys that differ, leaving every other byte of the file as it was.
 *
 * Why hand-written spans and not only `toml-patch`'s `patch()`: the library re-formats lines it
 * did not need to touch (it re-aligns the trailing comments of a whole block of keys when one value
 * in it changes, e.g. `model = "gpt-5"  # c1` moves its comment to column 30), and it has no option
 * to turn that off. So the library still parses (its CST gives the exact location of every key,
 * value and table header) and renders new values (`stringify`), but the text around them is cut and
 * joined here. Every result is checked by parsing it again and comparing its value with the
 * intended one; when the splice cannot express an edit (inline tables, arrays of tables, dotted
 * keys, a type change) or the check fails, the caller falls back to `patch()` — correct values,
 * possibly re-formatted lines.
 *
 * Hints make undo exact: `inserted` is the text a new key or table was added with (cut out again
 * as is when still present), `raw` the source text of a value replaced earlier (put back as is).
 */
import { canonical } from './common.js';

type TomlModule = typeof import('@decimalturn/toml-patch');
type Table = Record<string, unknown>;
type Format = InstanceType<TomlModule['TomlFormat']>;
interface Pos {
  line: number;
  column: number;
}
interface Node {
  type: string;
  loc: { start: Pos; end: Pos };
  key?: { value?: string[]; item?: { value: string[] } };
  value?: { loc: { start: Pos; end: Pos }; raw?: string };
  items?: Node[];
}

export interface SpliceHints {
  /** By path key (`pathKey`): the exact text setup inserted for that key or table. */
  inserted?: Map<string, string>;
  /** By path key: the source text of the value to put back. */
  raw?: Map<string, string>;
}

export interface SpliceResult {
  text: string;
  /** By path key: the text inserted for each new key or table. */
  inserted: Map<string, string>;
  /** By path key: the source text of each value replaced. */
  replaced: Map<string, string>;
  /** By path key: the text of each new (non-table) value inserted. */
  values: Map<string, string>;
}

/** Stands for the value's text in the `inserted` hint of a secret key (never recorded itself). */
export const VALUE_MARK = '\u0000';

type Op = { kind: 'set' | 'insert'; path: string[]; value: unknown } | { kind: 'delete'; path: string[] };

class Unsupported extends Error {}

export const pathKey = (path: string[]): string => path.join('\u0000');

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** The leaf edits that turn `from` into `to` (tables are descended, other values replaced whole). */
function diffOps(from: Table, to: Table, path: string[] = [], ops: Op[] = []): Op[] {
  for (const k of Object.keys(from)) {
    if (!(k in to)) ops.push({ kind: 'delete', path: [...path, k] });
  }
  for (const [k, v] of Object.entries(to)) {
    const here = [...path, k];
    if (!(k in from)) ops.push({ kind: 'insert', path: here, value: v });
    else if (isTable(from[k]) && isTable(v)) diffOps(from[k], v, here, ops);
    else if (isTable(from[k]) !== isTable(v)) throw new Unsupported('type change');
    else if (canonical(from[k]) !== canonical(v)) ops.push({ kind: 'set', path: here, value: v });
  }
  return ops;
}

const startsWith = (a: string[], prefix: string[]) =>
  prefix.length <= a.length && prefix.every((p, i) => a[i] === p);

/** Offsets into one text (BOM already removed): CST positions → string indexes and line spans. */
class Text {
  readonly starts: number[] = [0];
  constructor(readonly s: string) {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  at(p: Pos): number {
    return this.starts[p.line - 1]! + p.column;
  }
  lineStart(p: Pos): number {
    return this.starts[p.line - 1]!;
  }
  /** Index just after the end of line `line` (its EOL included). */
  lineEnd(line: number): number {
    return this.starts[line] ?? this.s.length;
  }
}

function cst(toml: TomlModule, text: string): Node[] {
  return toml.parseDocument(text).cst as unknown as Node[];
}

function tableKey(n: Node): string[] {
  return n.key?.item?.value ?? [];
}

/** Every key-value with its full path, and every table header. */
function index(nodes: Node[]): { kvs: Array<{ path: string[]; node: Node; table?: Node }>; tables: Node[] } {
  const kvs: Array<{ path: string[]; node: Node; table?: Node }> = [];
  const tables: Node[] = [];
  for (const n of nodes) {
    if (n.type === 'KeyValue') kvs.push({ path: n.key?.value ?? [], node: n });
    else if (n.type === 'Table' || n.type === 'TableArray') {
      tables.push(n);
      if (n.type === 'TableArray') continue;
      for (const item of n.items ?? []) {
        if (item.type === 'KeyValue')
          kvs.push({ path: [...tableKey(n), ...(item.key?.value ?? [])], node: item, table: n });
      }
    }
  }
  return { kvs, tables };
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function leadingEols(s: string): number {
  return /^(?:\r?\n)*/.exec(s)![0].length;
}

function render(toml: TomlModule, fmt: Format, obj: Table, inlineTableStart: number, eol: string): string {
  const f = Object.assign(Object.create(Object.getPrototypeOf(fmt) as object) as Format, fmt, {
    inlineTableStart,
    leadingBom: false,
    newLine: '\n',
    trailingNewline: 1,
  });
  return toml
    .stringify(obj, f)
    .replace(/^\uFEFF/, '')
    .replace(/\n/g, eol);
}

/** The TOML text of a value (inline). */
function valueText(toml: TomlModule, fmt: Format, value: unknown): string {
  const line = render(toml, fmt, { x: value }, 0, '\n');
  const m = /^x = ([\s\S]*?)\n*$/.exec(line);
  if (!m) throw new Unsupported('cannot render value');
  return m[1]!;
}

/** Sections for a new table at `path`: its own header(s) only, not empty ancestor headers. */
function sectionText(toml: TomlModule, fmt: Format, path: string[], value: Table, eol: string): string {
  let nested: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) nested = { [path[i]!]: nested };
  const out = render(toml, fmt, nested as Table, path.length + 1, '\n');
  // Drop the empty `[ancestor]` header lines (each followed by a blank line) stringify emits first.
  const lines = out.split('\n');
  while (lines.length > 1 && /^\[[^\]]*\]$/.test(lines[0]!) && lines[1] === '') {
    const next = lines.findIndex((l, i) => i > 0 && l !== '');
    if (next < 0 || !/^\[/.test(lines[next]!)) break;
    lines.splice(0, next);
  }
  const body = lines.join('\n').replace(/\n+$/, '\n');
  if (!body.startsWith('[')) throw new Unsupported('table rendered without a header');
  return body.replace(/\n/g, eol);
}

function applyOp(
  toml: TomlModule,
  fmt: Format,
  s: string,
  op: Op,
  hints: SpliceHints,
  result: SpliceResult,
): string {
  const t = new Text(s);
  const { kvs, tables } = index(cst(toml, s));
  const eol = eolOf(s);
  const key = pathKey(op.path);
  const kv = kvs.find((k) => pathKey(k.path) === key);
  if (op.kind === 'set') {
    if (!kv?.node.value) throw new Unsupported('value not found');
    const a = t.at(kv.node.value.loc.start);
    const b = t.at(kv.node.value.loc.end);
    const old = s.slice(a, b);
    if (!result.replaced.has(key)) result.replaced.set(key, old);
    const raw = hints.raw?.get(key);
    const next =
      raw !== undefined && canonical(toml.parse(`x = ${raw}`)['x']) === canonical(op.value)
        ? raw
        : valueText(toml, fmt, op.value);
    return s.slice(0, a) + next + s.slice(b);
  }
  if (op.kind === 'delete') return deleteAt(s, t, op.path, kv?.node, tables, kvs, hints);
  // insert
  if (isTable(op.value)) {
    if (kvs.some((k) => startsWith(k.path, op.path)) || tables.some((n) => startsWith(tableKey(n), op.path)))
      throw new Unsupported('table exists in part');
    const body = sectionText(toml, fmt, op.path, op.value, eol);
    const lead = s === '' ? '' : (/\n$/.test(s) ? '' : eol) + (/\n(\r?\n)$/.test(`\n${s}`) ? '' : eol);
    const inserted = lead + body;
    result.inserted.set(key, inserted);
    return s + inserted;
  }
  const parent = op.path.slice(0, -1);
  const last = op.path[op.path.length - 1]!;
  const line = render(toml, fmt, { [last]: op.value }, 0, eol).replace(/(\r?\n)+$/, '');
  if (line.includes(VALUE_MARK)) throw new Unsupported('NUL in a value');
  let at: number;
  let trail = '';
  if (parent.length === 0) {
    const roots = kvs.filter((k) => !k.table);
    const first = tables[0];
    if (roots.length) at = t.lineEnd(roots[roots.length - 1]!.node.loc.end.line);
    else if (first) {
      // Before the first table (and the comment lines directly above it).
      let ln = first.loc.start.line;
      while (ln > 1 && /^[ \t]*#/.test(s.slice(t.starts[ln - 2]!, t.starts[ln - 1]!))) ln--;
      at = t.starts[ln - 1]!;
      trail = eol;
    } else at = s.length;
  } else {
    const table = tables.find((n) => n.type === 'Table' && pathKey(tableKey(n)) === pathKey(parent));
    if (!table) throw new Unsupported('parent is not a [table] section');
    const items = (table.items ?? []).filter((i) => i.type === 'KeyValue');
    at = t.lineEnd((items.length ? items[items.length - 1]! : table).loc.end.line);
  }
  const lead = at > 0 && s[at - 1] !== '\n' ? eol : '';
  const inserted = lead + line + (lead ? '' : eol) + trail;
  result.inserted.set(key, inserted);
  result.values.set(key, line.slice(line.indexOf('=') + 1).trim());
  return s.slice(0, at) + inserted + s.slice(at);
}

function deleteAt(
  s: string,
  t: Text,
  path: string[],
  kv: Node | undefined,
  tables: Node[],
  kvs: Array<{ path: string[]; node: Node; table?: Node }>,
  hints: SpliceHints,
): string {
  let hint = hints.inserted?.get(pathKey(path));
  if (hint?.includes(VALUE_MARK) && kv?.value)
    hint = hint.replace(VALUE_MARK, s.slice(t.at(kv.value.loc.start), t.at(kv.value.loc.end)));
  const first = kv ?? tables.find((n) => startsWith(tableKey(n), path));
  if (!first) throw new Unsupported('nothing to delete');
  if (hint !== undefined) {
    // The exact text setup added, still there as it was: cut it out.
    const lead = leadingEols(hint);
    const from = t.lineStart(first.loc.start) - lead;
    if (from >= 0 && s.startsWith(hint, from)) return s.slice(0, from) + s.slice(from + hint.length);
    // Inserted at the end of a last line without EOL: the lead is before, nothing after.
    const body = hint.slice(lead);
    const at = t.lineStart(first.loc.start);
    if (s.startsWith(body, at) && at + body.length === s.length && lead) return s.slice(0, at - lead);
  }
  if (kv) {
    const a = t.lineStart(kv.loc.start);
    const b = t.lineEnd(kv.loc.end.line);
    const before = s.slice(a, t.at(kv.loc.start));
    const after = s.slice(t.at(kv.loc.end), b);
    if (!/^[ \t]*$/.test(before) || !/^[ \t]*(#[^\n]*)?\r?\n?$/.test(after))
      throw new Unsupported('key shares its line');
    return s.slice(0, a) + s.slice(b);
  }
  // A table: every section under `path` (from its header up to the next other header or the end).
  if (kvs.some((k) => startsWith(k.path, path) && !(k.table && startsWith(tableKey(k.table), path))))
    throw new Unsupported('table has dotted keys elsewhere');
  let out = s;
  let atEnd = false;
  const sorted = [...tables].sort((x, y) => x.loc.start.line - y.loc.start.line);
  for (let i = sorted.length - 1; i >= 0; i--) {
    const n = sorted[i]!;
    if (!startsWith(tableKey(n), path)) continue;
    const a = t.lineStart(n.loc.start);
    const nextHeader = sorted[i + 1];
    let endLine = nextHeader ? nextHeader.loc.start.line : undefined;
    // Comment lines directly above the next header belong to it.
    while (
      endLine !== undefined &&
      endLine - 1 > n.loc.end.line &&
      /^[ \t]*#/.test(s.slice(t.starts[endLine - 2]!, t.starts[endLine - 1]!))
    )
      endLine--;
    const b = endLine === undefined ? s.length : t.starts[endLine - 1]!;
    out = out.slice(0, a) + out.slice(b);
    if (b === s.length) atEnd = true;
  }
  // A secret table's hint is `<separator>` + VALUE_MARK: the separator setup put before it at the end.
  // Other hints (the table was edited since) start with that separator too.
  const sep = hint === undefined ? '' : hint.slice(0, leadingEols(hint));
  if (atEnd && sep && out.endsWith(sep) && /^(\r?\n)+$/.test(sep)) out = out.slice(0, -sep.length);
  return out;
}

/**
 * `text` edited so that it parses to `to` (whose current value is `from`), or undefined when that
 * cannot be done by splicing (the caller then uses `patch()`). A leading BOM is kept.
 */
export function spliceToml(
  toml: TomlModule,
  text: string,
  from: Table,
  to: Table,
  fmt: Format,
  hints: SpliceHints = {},
): SpliceResult | undefined {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const result: SpliceResult = { text, inserted: new Map(), replaced: new Map(), values: new Map() };
  try {
    let s = text.slice(bom.length);
    const ops = diffOps(from, to);
    // Removals last, the latest in the file first: the reverse of the order setup added them in.
    const { kvs, tables } = index(cst(toml, s));
    const line = (path: string[]) =>
      (
        kvs.find((k) => pathKey(k.path) === pathKey(path))?.node ??
        tables.find((n) => startsWith(tableKey(n), path))
      )?.loc.start.line ?? 0;
    const removals = ops.filter((o) => o.kind === 'delete').sort((x, y) => line(y.path) - line(x.path));
    for (const op of [...ops.filter((o) => o.kind !== 'delete'), ...removals])
      s = applyOp(toml, fmt, s, op, hints, result);
    const out = bom + s;
    if (canonical(toml.parse(out)) !== canonical(to)) return undefined;
    result.text = out;
    return result;
  } catch {
    return undefined;
  }
}
