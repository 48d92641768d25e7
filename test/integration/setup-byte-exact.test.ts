/**
 * Setup → teardown through the built CLI keeps a Codex config.toml byte-exact: unrelated lines
 * (aligned inline comments, CRLF, other providers, MCP servers) are byte-identical after setup, and
 * teardown says "restored" only when the file is the original again — otherwise it says what differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { writeHomeFile } from '../helpers/setup-env.js';

// Hosts under .test never resolve: the layout probe and the issuer check fail fast (warnings).
const FLAGS = [
  '--gateway-url',
  'https://llm.gatepass.test',
  '--issuer',
  'https://sso.gatepass.test',
  '--client-id',
  'gatepass',
];

const ORIGINAL = [
  '# codex',
  'model = "gpt-5"  # c1',
  'model_provider = "corp"  # c2',
  '',
  '[model_providers.corp]  # the company one',
  'name = "corp"     # aligned',
  'base_url = "https://corp.gatepass.test/v1"',
  '',
  '[mcp_servers.docs]',
  'command = "npx"',
  'args = ["-y", "docs"]   # pinned',
  '',
];

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

describe('Codex config.toml: setup → teardown is byte-exact', () => {
  for (const eol of ['\n', '\r\n']) {
    it(`keeps unrelated lines and restores every byte (${eol === '\n' ? 'LF' : 'CRLF'})`, async () => {
      const original = ORIGINAL.join(eol);
      const file = writeHomeFile(t, '.codex/config.toml', original);
      const setup = await runGatepass(['setup', '--tools', 'codex', '--lazy', ...FLAGS], { env: t.env });
      expect(setup.code, setup.stderr).toBe(0);
      const after = readFileSync(file, 'utf8');
      const lines = after.split(eol);
      for (const line of ORIGINAL) {
        expect(lines).toContain(
          line.startsWith('model_provider') ? 'model_provider = "gatepass"  # c2' : line,
        );
      }
      expect(after).toContain('[model_providers.gatepass]');
      const teardown = await runGatepass(['teardown'], { env: t.env });
      expect(teardown.code, teardown.stderr).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(original);
      expect(teardown.stderr).toContain(`${file} (restored)`);
    });
  }

  it('says what differs instead of "restored" when the file cannot be the original', async () => {
    const original = ORIGINAL.join('\n');
    const file = writeHomeFile(t, '.codex/config.toml', original);
    const setup = await runGatepass(['setup', '--tools', 'codex', '--lazy', ...FLAGS], { env: t.env });
    expect(setup.code, setup.stderr).toBe(0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('model = "gpt-5"', 'model = "o3"'));
    const teardown = await runGatepass(['teardown'], { env: t.env });
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(teardown.stderr).not.toContain(`${file} (restored)`);
    expect(teardown.stderr).toContain('not byte-identical to before setup: the file was edited since setup');
    expect(readFileSync(file, 'utf8')).toBe(original.replace('model = "gpt-5"', 'model = "o3"'));
  });
});
