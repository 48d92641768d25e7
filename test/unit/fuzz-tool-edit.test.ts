/** Property: for any JSON/TOML document and any keys gatepass sets, revert(patch(doc)) === doc. */
import * as TOML from '@decimalturn/toml-patch';
import fc from 'fast-check';
import { parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { patchDotenv, revertDotenv } from '../../src/tools/edit/dotenv.js';
import { patchJson, revertJson } from '../../src/tools/edit/json.js';
import { patchToml, revertToml } from '../../src/tools/edit/toml.js';
import type { KeySetting } from '../../src/tools/edit/types.js';

const key = fc.constantFrom('a', 'b', 'env', 'apiKeyHelper', 'model', 'x y', 'é', 'provider');
const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(leaf, { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3 }),
  ),
})).v;
const doc = fc.dictionary(key, value, { maxKeys: 5 });
const settings = fc.array(
  fc.record({
    path: fc.array(key, { minLength: 1, maxLength: 3 }),
    value: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
    secret: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** Drop settings whose path runs through a non-object, or that conflict with an earlier one. */
function applicable(obj: Record<string, unknown>, list: KeySetting[]): KeySetting[] {
  const out: KeySetting[] = [];
  const sim = structuredClone(obj);
  for (const s of list) {
    let cur: unknown = sim;
    let ok = true;
    for (const k of s.path.slice(0, -1)) {
      const c = cur as Record<string, unknown>;
      if (c[k] === undefined) c[k] = {};
      else if (typeof c[k] !== 'object' || c[k] === null || Array.isArray(c[k])) {
        ok = false;
        break;
      }
      cur = c[k];
    }
    if (!ok) continue;
    const c = cur as Record<string, unknown>;
    const last = s.path[s.path.length - 1]!;
    if (typeof c[last] === 'object' && c[last] !== null) continue; // do not replace whole objects
    if (
      out.some(
        (o) => o.path.join('.').startsWith(s.path.join('.')) || s.path.join('.').startsWith(o.path.join('.')),
      )
    )
      continue;
    c[last] = s.value;
    out.push(s);
  }
  return out;
}

describe('editors: revert(patch(doc)) restores every byte', () => {
  it('JSON in any indentation and line ending', () => {
    fc.assert(
      fc.property(doc, settings, fc.constantFrom(0, 2, 4, '\t'), fc.boolean(), (obj, raw, indent, crlf) => {
        let text = JSON.stringify(obj, null, indent) + (indent === 0 ? '' : '\n');
        if (crlf) text = text.replace(/\n/g, '\r\n');
        const list = applicable(obj, raw);
        const p = patchJson('f.json', text, list);
        const parsed = parse(p.text) as Record<string, unknown>;
        for (const s of list) {
          let cur: unknown = parsed;
          for (const k of s.path) cur = (cur as Record<string, unknown>)[k];
          expect(cur).toEqual(s.value);
        }
        expect(revertJson('f.json', p.text, p.changes, p.backups).text).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('JSONC with comments and blank lines sprinkled in', () => {
    fc.assert(
      fc.property(
        doc,
        settings,
        fc.array(fc.constantFrom('', ' // note', '\n', ' /* b */'), { minLength: 20, maxLength: 20 }),
        (obj, raw, deco) => {
          let i = 0;
          const text = `${JSON.stringify(obj, null, 2)
            .split('\n')
            .map((l) => (/[,{[]$/.test(l) ? l + deco[i++ % deco.length] : l))
            .join('\n')}\n`;
          const list = applicable(obj, raw);
          const p = patchJson('f.json', text, list);
          const errors: unknown[] = [];
          parse(p.text, errors as never, { allowTrailingComma: true });
          expect(errors).toEqual([]);
          expect(revertJson('f.json', p.text, p.changes, p.backups).text).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('TOML', () => {
    const tomlValue = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.integer({ min: -1000, max: 1000 }),
      fc.boolean(),
    );
    const tomlDoc = fc.dictionary(key, fc.oneof(tomlValue, fc.dictionary(key, tomlValue, { maxKeys: 3 })), {
      maxKeys: 4,
    });
    fc.assert(
      fc.property(tomlDoc, settings, (obj, raw) => {
        const text = TOML.stringify(obj);
        const list = applicable(obj, raw);
        const p = patchToml(TOML, 'f.toml', text, list);
        TOML.parse(p.text);
        expect(revertToml(TOML, 'f.toml', p.text, p.changes, p.backups).text).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('dotenv', () => {
    const line = fc.oneof(
      fc.constantFrom('# comment', '', 'export A=1', 'B="x y"', "C='z'", 'GEMINI_API_KEY=old', 'D=1 # note'),
      fc.stringMatching(/^[A-Z_]{1,6}=[a-z0-9]{0,5}$/),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 6 }), fc.boolean(), fc.boolean(), (lines, terminated, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const text = lines.length ? lines.join(eol) + (terminated ? eol : '') : '';
        const list: KeySetting[] = [
          { path: ['GOOGLE_GEMINI_BASE_URL'], value: 'http://127.0.0.1:14000' },
          { path: ['GEMINI_API_KEY'], value: 'gp_local_k', secret: true },
        ];
        const p = patchDotenv('.env', text, list);
        expect(revertDotenv('.env', p.text, p.changes, p.backups).text).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
