/**
 * End to end with the real Gemini CLI (proxy mode): `gatepass setup --lazy` writes ~/.gemini/.env
 * (proxy URL + local proxy key) and settings.json; with `gatepass proxy start --background` running,
 * `gemini -p hi` reaches the fake gateway through the proxy, which replaces the local key with the
 * provider's bearer token. Self-checking: needs `gatepass proxy` and `gatepass token` (other
 * branches) and fails loudly until they are merged.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { freePort } from '../helpers/ports.js';
import { makeToolHome, runTool, type ToolHome } from '../helpers/tool-e2e.js';

let fake: FakeLlm;
let t: ToolHome;
beforeEach(async () => {
  fake = await startFakeLlm();
  t = await makeToolHome(fake.url);
  t.env['GATEPASS_SECRET_STORE'] = 'file';
  // Gemini CLI reads ~/.gemini/.env only in trusted folders (a user trusts theirs on first run).
  t.env['GEMINI_CLI_TRUST_WORKSPACE'] = 'true';
});
afterEach(async () => {
  await t.gp(['proxy', 'stop']);
  await fake.close();
  t.cleanup();
});

it('gemini -p reaches the gateway through gatepass proxy with the provider token', async () => {
  const port = await freePort();
  const setup = await t.gp(['setup', '--tools', 'gemini', '--lazy', '--proxy-port', String(port)]);
  expect(setup.code, setup.stderr).toBe(0);
  // ~/.gemini/.env: the proxy as base URL, the local proxy key (from the secret store) as API key;
  // settings.json selects API-key auth, under which Gemini CLI 0.61 honours GOOGLE_GEMINI_BASE_URL
  // (its implicit "gateway" auth type is refused in non-interactive runs: "Invalid auth method").
  const key = readFileSync(
    path.join(t.home, '.local/share/gatepass/secrets/GATEPASS_LOCAL_PROXY_KEY'),
    'utf8',
  ).trim();
  expect(key).toMatch(/^gp_local_/);
  expect(readFileSync(path.join(t.home, '.gemini/.env'), 'utf8')).toBe(
    `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:${port}\nGEMINI_API_KEY=${key}\n`,
  );
  expect(JSON.parse(readFileSync(path.join(t.home, '.gemini/settings.json'), 'utf8'))).toEqual({
    security: { auth: { selectedType: 'gemini-api-key' } },
  });

  const start = await t.gp(['proxy', 'start', '--background']);
  expect(start.code, `gatepass proxy start --background (built on another branch): ${start.stderr}`).toBe(0);
  const before = JSON.parse((await t.gp(['status', '--json'])).stdout);
  expect(before.proxy).toMatchObject({ running: true, healthy: true, url: `http://127.0.0.1:${port}` });
  expect(before.tools).toMatchObject([{ tool: 'gemini', mode: 'proxy', state: 'wired' }]);
  const pid = before.proxy.pid as number;

  // An explicit model skips Gemini CLI's model router (extra classifier calls).
  const r = await runTool(t, 'gemini', ['-m', 'gemini-2.5-flash', '-p', 'hi']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const calls = fake.requests.filter((q) => /:(stream)?[gG]enerateContent$/.test(q.path));
  expect(calls.length).toBeGreaterThan(0);
  for (const q of calls) {
    expect(q.authorization).toBe(`Bearer ${t.token}`);
    expect(q.apiKey).toBeUndefined(); // the local proxy key never reaches the gateway
  }

  // Teardown removes the files gatepass created and stops the background proxy.
  const td = await t.gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(existsSync(path.join(t.home, '.gemini/.env'))).toBe(false);
  expect(existsSync(path.join(t.home, '.gemini/settings.json'))).toBe(false);
  expect(td.stderr).toContain(`Stopped the background proxy (pid ${pid})`);
  expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  const after = JSON.parse((await t.gp(['status', '--json'])).stdout);
  expect(after.proxy).toMatchObject({ running: false, pid: null });
  expect(after.tools).toEqual([]);
});
