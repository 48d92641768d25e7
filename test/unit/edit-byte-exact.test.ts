/**
 * The TOML (and dotenv) editors change only the bytes of the keys gatepass owns: unrelated lines (inline
 * comments and their columns, blank lines, CRLF, a BOM, other tables) stay byte-identical after
 * setup, and teardown gives back the original bytes. Differential: whatever the splice writes parses
 * to the same value as what toml-patch's `patch()` writes for the same edit.
 */
import * as TOML from '@decimalturn/toml-patch';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical } from '../../src/tools/edit/common.js';
import { patchDotenv, revertDotenv } from '../../src/tools/edit/dotenv.js';
import { patchToml, revertToml } from '../../src/tools/edit/toml.js';
import type { KeySetting } from '../../src/tools/edit/types.js';

const codex: KeySetting[] = [
  { path: ['model_provider'], value: 'gatepass' },
  {
    path: ['model_providers', 'gatepass'],
    value: {
      name: 'gatepass',
      base_url: 'https://llm.corp.test/v1',
      wire_api: 'responses',
      auth: {
        command: '/usr/bin/node',
        args: ['/opt/gatepass/cli.js', 'token'],
        refresh_interval_ms: 300000,
      },
    },
  },
];

const cases: Record<string, string> = {
  'aligned inline comments (the report)': 'model = "gpt-5"  # c1\nmodel_provider = "corp"  # c2\n',
  'comments, blank lines, other providers, mcp_servers': `# my codex config
model = "gpt-5"   # favourite
model_provider = 'corp'	# tab before the comment

approval_policy = "never"


[model_providers.corp]   # ours
name = "Corp"   # aligned
base_url = "https://corp.test/v1"

# MCP servers
[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]   # pinned

[profiles.fast]
model = "gpt-5-mini"
`,
  CRLF: 'model = "o3"  # c1\r\nmodel_provider = "corp"  # c2\r\n\r\n[mcp_servers.x]\r\ncommand = "x"\r\n',
  BOM: '\uFEFFmodel = "o3"  # c1\n\n[model_providers.corp]\nname = "c"\n',
  'no model_provider, tables only, no final newline': '# header\n\n[mcp_servers.x]\ncommand = "x"  # c',
  'empty file': '',
  'blank file': '\n\n',
  'only comments': '# nothing here yet\n',
};

describe('TOML editor: byte-exact', () => {
  for (const [name, src] of Object.entries(cases)) {
    it(`setup keeps unrelated lines and teardown restores every byte: ${name}`, () => {
      const p = patchToml(TOML, 'config.toml', src, codex);
      const after = TOML.parse(p.text) as {
        model_provider: string;
        model_providers: { gatepass: { auth: { args: string[] } } };
      };
      expect(after.model_provider).toBe('gatepass');
      expect(after.model_providers.gatepass.auth.args).toEqual(['/opt/gatepass/cli.js', 'token']);
      // Every original line is still there, byte for byte, except model_provider's, where only the
      // value changed (its comment keeps its column).
      const eol = src.includes('\r\n') ? '\r\n' : '\n';
      const newLines = p.text.replace(/^\uFEFF/, '').split(eol);
      for (const line of src.replace(/^\uFEFF/, '').split(eol)) {
        if (/^model_provider\s*=/.test(line)) {
          expect(newLines).toContain(line.replace(/(["'])corp\1/, '"gatepass"'));
        } else expect(newLines).toContain(line);
      }
      expect(p.text.startsWith('\uFEFF')).toBe(src.startsWith('\uFEFF'));
      if (src.includes('\r\n')) expect(p.text.replace(/\r\n/g, '')).not.toContain('\n');
      const r = revertToml(TOML, 'config.toml', p.text, p.changes, p.backups);
      expect(r.drifted).toEqual([]);
      expect(r.text).toBe(src);
    });
  }

  it('the report: `model = "gpt-5"  # c1` is byte-identical after setup', () => {
    const src = 'model = "gpt-5"  # c1\nmodel_provider = "corp"  # c2\n';
    const p = patchToml(TOML, 'config.toml', src, codex);
    expect(p.text.split('\n').slice(0, 2)).toEqual([
      'model = "gpt-5"  # c1',
      'model_provider = "gatepass"  # c2',
    ]);
  });

  it('a re-run with a new gateway changes only base_url, and teardown still restores every byte', () => {
    const src = cases['comments, blank lines, other providers, mcp_servers']!;
    const p1 = patchToml(TOML, 'config.toml', src, codex);
    const moved = structuredClone(codex);
    (moved[1]!.value as { base_url: string }).base_url = 'https://llm2.corp.test/v1';
    const p2 = patchToml(TOML, 'config.toml', p1.text, moved);
    expect(p2.text).toBe(p1.text.replace('https://llm.corp.test/v1', 'https://llm2.corp.test/v1'));
    // teardown with the record a re-run keeps: the first run's "before", the new "after"
    const changes = p1.changes.map((c) => (c.path.length === 2 ? { ...c, after: moved[1]!.value } : c));
    const r = revertToml(TOML, 'config.toml', p2.text, changes, {});
    expect(r.text).toBe(src);
  });

  it('differential: the spliced text parses to what toml-patch writes, for documents with comments', () => {
    const key = fc.constantFrom('a', 'b', 'model', 'model_provider', 'x y', 'é');
    const leaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -99, max: 99 }), fc.boolean());
    const obj = fc.dictionary(
      key,
      fc.oneof(leaf, fc.array(leaf, { maxLength: 2 }), fc.dictionary(key, leaf, { maxKeys: 3 })),
      { maxKeys: 4 },
    );
    const setting = fc.record({
      path: fc.array(key, { minLength: 1, maxLength: 3 }),
      value: fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 9 })),
    });
    fc.assert(
      fc.property(obj, fc.array(setting, { minLength: 1, maxLength: 3 }), fc.boolean(), (o, raw, crlf) => {
        // Comments at the end of every key line, at ragged columns; blank lines; maybe CRLF.
        let n = 0;
        let text = TOML.stringify(o).replace(
          /^(\S.*= .*)$/gm,
          (l) => `${l}${' '.repeat(1 + (n++ % 3))}# c${n}`,
        );
        if (crlf) text = text.replace(/\n/g, '\r\n');
        const list = applicable(o, raw);
        if (!list.length) return;
        const p = patchToml(TOML, 'f.toml', text, list);
        const expected = TOML.parse(
          TOML.patch(text, TOML.parse(p.text), TOML.TomlFormat.autoDetectFormat(text)),
        ) as unknown;
        expect(canonical(TOML.parse(p.text))).toBe(canonical(expected));
        // Lines holding none of the keys set are untouched.
        const setKeys = new Set(list.flatMap((s) => s.path));
        const eol = crlf ? '\r\n' : '\n';
        const outLines = p.text.split(eol);
        for (const line of text.split(eol)) {
          const k = /^"?([^"=]+?)"? = /.exec(line)?.[1];
          if (k !== undefined && !setKeys.has(k)) expect(outLines).toContain(line);
        }
        expect(revertToml(TOML, 'f.toml', p.text, p.changes, p.backups).text).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

/** Settings whose path runs through tables only (others are refused by the editor by design). */
function applicable(
  obj: Record<string, unknown>,
  list: Array<{ path: string[]; value: unknown }>,
): KeySetting[] {
  const out: KeySetting[] = [];
  const sim = structuredClone(obj) as Record<string, unknown>;
  for (const s of list) {
    let cur: Record<string, unknown> = sim;
    let ok = true;
    for (const k of s.path.slice(0, -1)) {
      if (cur[k] === undefined) cur[k] = {};
      const next = cur[k];
      if (!next || typeof next !== 'object' || Array.isArray(next)) {
        ok = false;
        break;
      }
      cur = next as Record<string, unknown>;
    }
    const last = s.path[s.path.length - 1]!;
    if (!ok || (cur[last] && typeof cur[last] === 'object')) continue;
    cur[last] = s.value;
    out.push({ path: s.path, value: s.value });
  }
  return out;
}

describe('dotenv editor: byte-exact', () => {
  it('keeps each unrelated line with its own line ending (mixed LF/CRLF) and restores every byte', () => {
    const src = 'A=1   # c\nexport  B = "x"\r\n\n# c\nGOOGLE_GEMINI_BASE_URL=old  # mine\r\nZ=2';
    const p = patchDotenv('.env', src, [
      { path: ['GOOGLE_GEMINI_BASE_URL'], value: 'http://127.0.0.1:14000' },
      { path: ['GEMINI_API_KEY'], value: 'k-local', secret: true },
    ]);
    expect(p.text).toBe(
      'A=1   # c\nexport  B = "x"\r\n\n# c\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:14000\r\nZ=2\nGEMINI_API_KEY=k-local\n',
    );
    expect(revertDotenv('.env', p.text, p.changes, p.backups).text).toBe(src);
  });
});
