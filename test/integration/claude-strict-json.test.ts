/**
 * Claude Code 2.1.332 and later refuse a ~/.claude/settings.json holding comments or trailing commas
 * ("Invalid or malformed JSON") and then load none of it, gatepass' apiKeyHelper included (seen with
 * the real 2.1.332 by `npm run test:e2e:latest`'s install). gatepass keeps the user's comments, so
 * setup says so; a strict-JSON file gets no such note.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeToolHome, type ToolHome } from '../helpers/tool-e2e.js';

let t: ToolHome;
let settings: string;
beforeEach(async () => {
  t = await makeToolHome('https://llm.example.com');
  settings = path.join(t.home, '.claude/settings.json');
  mkdirSync(path.dirname(settings));
});
afterEach(() => t.cleanup());

const NOTE = 'which Claude Code 2.1.332 and later refuse ("Invalid or malformed JSON")';

describe('setup --tools claude and a settings.json Claude Code cannot load', () => {
  it('says that comments or trailing commas make Claude Code ignore the file, and keeps them', async () => {
    for (const text of ['{\n  // mine\n  "model": "opus"\n}\n', '{\n  "model": "opus",\n}\n']) {
      writeFileSync(settings, text);
      const r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--anthropic-path-prefix', '']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toContain(
        `Claude Code: ${settings} holds comments or trailing commas, ${NOTE}`,
      );
      expect(readFileSync(settings, 'utf8')).toContain('"model": "opus"');
      const teardown = await t.gp(['teardown', 'claude']);
      expect(teardown.code, teardown.stderr).toBe(0);
    }
  });

  it('says nothing of the kind for strict JSON (or no file yet)', async () => {
    let r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--anthropic-path-prefix', '']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(NOTE);
    writeFileSync(settings, readFileSync(settings, 'utf8')); // gatepass' own output is strict JSON
    r = await t.gp(['setup', '--tools', 'claude', '--lazy', '--anthropic-path-prefix', '']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(NOTE);
  });
});
