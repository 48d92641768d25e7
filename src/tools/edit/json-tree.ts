/**
 * The JSON/JSONC syntax tree of a tool file (jsonc-parser): parsing with errors that name the file,
 * line and column, and finding a property, a value by path, or an array element by its key.
 */
import { getNodeValue, type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { ToolConfigError } from '../../errors.js';
import { keyName, lineCol } from './common.js';

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
export function rootOf(items: Array<{ path: string[]; element?: unknown }>): JsonRoot {
  return items.some((i) => i.element && i.path.length === 0) ? 'array' : 'object';
}

export function childProperty(obj: Node, key: string): Node | undefined {
  return obj.children?.find((p) => p.children?.[0]?.value === key);
}

export function valueAt(root: Node, path: string[]): { prop: Node; value: unknown } | undefined {
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Array elements identified by a key (KeySetting.element).

export function arrayAt(file: string, root: Node, path: string[]): Node | undefined {
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

export function findElement(
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
