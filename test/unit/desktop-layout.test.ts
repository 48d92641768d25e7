/** Array-element and whole-file edits (Claude Desktop), the layout probe's decisions, new config fields. */
import { describe, expect, it } from 'vitest';
import { type FieldSpec, findField, parseFieldInput } from '../../src/config/validate.js';
import { probeAnthropicPrefix, probeOpenAIPrefix } from '../../src/setup/probe.js';
import { bedrockSettings } from '../../src/tools/claude.js';
import { claudeDesktopShim } from '../../src/tools/claude-desktop.js';
import { inspectJson, patchJson, revertJson } from '../../src/tools/edit/json.js';
import { inspectWhole, patchWhole, revertWhole } from '../../src/tools/edit/text.js';
import type { KeySetting } from '../../src/tools/edit/types.js';

const entry: KeySetting = {
  path: ['entries'],
  value: { id: 'gp-id', name: 'gatepass' },
  element: { key: 'id' },
};
const selector: KeySetting[] = [{ path: ['appliedId'], value: 'gp-id' }, entry];

const metas: Record<string, string> = {
  'pretty, other entry selected':
    '{\n  "appliedId": "mine",\n  "entries": [\n    {\n      "id": "mine",\n      "name": "Mine"\n    }\n  ]\n}\n',
  'compact one line': '{"appliedId":"mine","entries":[{"id":"mine","name":"Mine"}],"v":1}',
  'empty entries array': '{\n  "appliedId": "",\n  "entries": []\n}\n',
  'empty entries array with a comment': '{\n  "appliedId": "",\n  "entries": [ /* none */ ]\n}\n',
  'no entries key': '{\n  "appliedId": ""\n}\n',
  'tabs and CRLF':
    '{\r\n\t"entries": [\r\n\t\t{ "id": "a", "name": "A" },\r\n\t\t{ "id": "b", "name": "B" }\r\n\t],\r\n\t"appliedId": "b"\r\n}\r\n',
  'stale gatepass entry':
    '{\n  "appliedId": "mine",\n  "entries": [\n    { "id": "gp-id", "name": "old" },\n    { "id": "mine", "name": "Mine" }\n  ]\n}\n',
};

describe('JSON array elements', () => {
  for (const [name, text] of Object.entries(metas)) {
    it(`${name}: adds gatepass' entry, selects it, and reverts byte for byte`, () => {
      const r = patchJson('_meta.json', text, selector);
      const doc = JSON.parse(r.text);
      expect(doc.appliedId).toBe('gp-id');
      expect(doc.entries.filter((e: { id: string }) => e.id === 'gp-id')).toEqual([
        { id: 'gp-id', name: 'gatepass' },
      ]);
      expect(inspectJson('_meta.json', r.text, r.changes)).toEqual(r.changes.map(() => 'wired'));
      // Idempotent.
      expect(patchJson('_meta.json', r.text, selector).changes).toEqual([]);
      const back = revertJson('_meta.json', r.text, r.changes, {});
      expect(back.text).toBe(text);
      expect(back.drifted).toEqual([]);
    });
  }

  it('an entry the user added after setup stays; only gatepass entry goes', () => {
    const text = metas['pretty, other entry selected']!;
    const r = patchJson('_meta.json', text, selector);
    const doc = JSON.parse(r.text);
    doc.entries.push({ id: 'later', name: 'Later' });
    doc.appliedId = 'later';
    const rewritten = JSON.stringify(doc, null, 2);
    const back = revertJson('_meta.json', rewritten, r.changes, {});
    expect(JSON.parse(back.text)).toEqual({
      appliedId: 'later',
      entries: [
        { id: 'mine', name: 'Mine' },
        { id: 'later', name: 'Later' },
      ],
    });
    expect(back.drifted).toEqual([['appliedId']]);
  });

  it('refuses entries that is not an array, leaving the file alone', () => {
    expect(() => patchJson('_meta.json', '{ "entries": {} }', selector)).toThrow(
      /"entries" is not a JSON array/,
    );
  });
});

describe('whole files (helper scripts)', () => {
  it('creates, detects drift, restores a previous file', () => {
    const s = [{ path: [], value: '#!/bin/sh\necho hi\n' }];
    const created = patchWhole(undefined, s);
    expect(created.changes[0]).toMatchObject({ before_absent: true });
    expect(JSON.stringify(created.changes)).not.toContain('echo hi'); // only a hash is recorded
    expect(revertWhole(created.text, created.changes)).toMatchObject({ text: '', empty: true });
    expect(inspectWhole('edited', created.changes)).toEqual(['drifted']);
    expect(revertWhole('edited', created.changes).drifted).toEqual([[]]);
    const replaced = patchWhole('old\n', s);
    expect(revertWhole(replaced.text, replaced.changes).text).toBe('old\n');
    expect(patchWhole(s[0]!.value, s).changes).toEqual([]);
  });
});

describe('Claude Desktop shim and Bedrock tiers', () => {
  const self = { command: '/opt/n ode/node', args: ["/opt/it's/cli.js"] };
  it('sh: quoted absolute paths; only the interactive context may log in', () => {
    const sh = claudeDesktopShim(self, 'darwin');
    expect(sh).toContain(
      `exec '/opt/n ode/node' '/opt/it'\\''s/cli.js' 'token' '--min-valid' '600' --interactive`,
    );
    expect(sh).toMatch(/GATEPASS_INTERACTIVE=0\nexport GATEPASS_INTERACTIVE\nexec .* --skip-browser\n$/);
  });
  it('cmd: double quotes, %% escaped, CRLF', () => {
    const cmd = claudeDesktopShim(
      { command: 'C:\\Program Files\\nodejs\\node.exe', args: ['C:\\100%\\cli.js'] },
      'win32',
    );
    expect(cmd).toContain(
      '"C:\\Program Files\\nodejs\\node.exe" "C:\\100%%\\cli.js" "token" "--min-valid" "600" --skip-browser',
    );
    expect(cmd.split('\r\n')[0]).toBe('@echo off');
  });
  it('picks one model per tier by name', () => {
    expect(bedrockSettings(['eu.anthropic.claude-3-5-haiku', 'eu.anthropic.claude-sonnet-4-5', 'x'])).toEqual(
      [
        { path: ['env', 'CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS'], value: '1' },
        { path: ['env', 'ANTHROPIC_DEFAULT_HAIKU_MODEL'], value: 'eu.anthropic.claude-3-5-haiku' },
        { path: ['env', 'ANTHROPIC_DEFAULT_SONNET_MODEL'], value: 'eu.anthropic.claude-sonnet-4-5' },
      ],
    );
  });
});

describe('layout probe decisions', () => {
  const answering = (table: Record<string, number | undefined>) => async (url: string) =>
    table[new URL(url).pathname];
  it('anthropic: any answer but 404 means the prefix exists; no answer means none', async () => {
    expect(await probeAnthropicPrefix('https://gw/', answering({ '/anthropic/v1/messages': 405 }))).toBe(
      '/anthropic',
    );
    expect(await probeAnthropicPrefix('https://gw', answering({ '/anthropic/v1/messages': 404 }))).toBe('');
    expect(await probeAnthropicPrefix('https://gw', answering({}))).toBeUndefined();
  });
  it('openai: /openai only when the plain route is missing', async () => {
    expect(
      await probeOpenAIPrefix('https://gw', answering({ '/openai/v1/models': 401, '/v1/models': 404 })),
    ).toBe('/openai');
    expect(
      await probeOpenAIPrefix('https://gw', answering({ '/openai/v1/models': 401, '/v1/models': 401 })),
    ).toBe('');
    expect(
      await probeOpenAIPrefix('https://gw', answering({ '/openai/v1/models': 404, '/v1/models': 200 })),
    ).toBe('');
  });
});

describe('new config fields', () => {
  const f = (k: string) => findField(k) as FieldSpec;
  it('parses and validates', () => {
    expect(parseFieldInput(f('anthropic_path_prefix'), 'anthropic/')).toBe('/anthropic');
    expect(parseFieldInput(f('anthropic_path_prefix'), '/')).toBe('');
    expect(parseFieldInput(f('openai_path_prefix'), 'none')).toBe('');
    expect(() => parseFieldInput(f('openai_path_prefix'), '/a?b')).toThrow(/not a path prefix/);
    expect(parseFieldInput(f('models'), 'a, b,c')).toEqual(['a', 'b', 'c']);
    expect(() => parseFieldInput(f('models'), ' ')).toThrow(/at least one model/);
    expect(parseFieldInput(f('bedrock_compat'), 'yes')).toBe(true);
    expect(() => parseFieldInput(f('bedrock_compat'), 'maybe')).toThrow(/true or false/);
  });
});

describe('property: element edits revert byte for byte', () => {
  it('any _meta.json-like document, pretty or compact, any indentation', async () => {
    const fc = (await import('fast-check')).default;
    const entryArb = fc.record({
      id: fc.constantFrom('a', 'b', 'gp-id', 'c d'),
      name: fc.string({ maxLength: 6 }),
    });
    const docArb = fc.record(
      {
        appliedId: fc.oneof(fc.constantFrom('a', 'gp-id', ''), fc.constant(null)),
        entries: fc.array(entryArb, { maxLength: 4 }),
        other: fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(docArb, fc.constantFrom(0, 2, 4, '\t'), fc.boolean(), (obj, indent, crlf) => {
        let text = JSON.stringify(obj, null, indent);
        if (crlf) text = text.replace(/\n/g, '\r\n');
        const r = patchJson('_meta.json', text, selector);
        const parsed = JSON.parse(r.text);
        expect(parsed.appliedId).toBe('gp-id');
        expect(parsed.entries.filter((e: { id: string }) => e.id === 'gp-id')).toHaveLength(
          Math.max(1, (obj.entries ?? []).filter((e) => e.id === 'gp-id').length),
        );
        expect(revertJson('_meta.json', r.text, r.changes, {}).text).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
