/**
 * `patchJson`: apply settings to a JSON/JSONC document — properties by path, array elements by
 * their key — recording each change (and the previous value, or its private backup) for teardown.
 */
import { getNodeValue, type Node } from 'jsonc-parser';
import { ToolConfigError } from '../../errors.js';
import {
  afterFields,
  backupId,
  detectEol,
  detectIndent,
  groupSettings,
  keyName,
  nest,
  sameValue,
} from './common.js';
import { applyEdits, insertProperty, lineIndent, serialize } from './json-text.js';
import {
  arrayAt,
  childProperty,
  findElement,
  type JsonRoot,
  parseJsonDocument,
  rootOf,
  valueAt,
} from './json-tree.js';
import type { KeyChange, KeySetting, PatchResult } from './types.js';

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
