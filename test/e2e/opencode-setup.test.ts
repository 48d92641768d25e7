/**
 * End to end with the real OpenCode from npm (its native binary from the platform package): `gatepass
 * setup --tools opencode`, run as users deploy it (a config file of their own with `--config`, a named
 * provider), signs in through the real IdP (oidc-provider, headless Chromium) and adds a `gatepass`
 * provider to OpenCode's `opencode.json` pointing at `gatepass proxy`. `opencode run -m
 * gatepass/<model>` then answers from the local fake gateway, which received only JWTs that verify
 * against the IdP's keys — with no provider package fetched from npm (OpenCode bundles
 * `@ai-sdk/openai-compatible`; npm points at a closed port). Teardown gives opencode.json back byte
 * for byte; when OpenCode itself added its "$schema" line to the file, teardown keeps that line (and
 * says the file was edited) and gives back every other byte.
 */
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrowserHook } from '../helpers/browser.js';
import type { TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm } from '../helpers/fake-llm.js';
import type { TestIdp } from '../helpers/idp.js';
import { type OpencodeLab, startOpencodeLab } from '../helpers/opencode-lab.js';
import { OPENCODE_OFFLINE_ENV, opencodeBin, runTool } from '../helpers/tool-e2e.js';

const MODEL = 'gp-fake-model';

let lab: OpencodeLab;
let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let t: TempHome;
let gp: OpencodeLab['gp'];
beforeAll(async () => {
  lab = await startOpencodeLab();
  ({ idp, hook, fake, t, gp } = lab);
});
afterAll(async () => {
  await lab?.close();
});

const configFile = () => lab.opencodeFile;
const userProvider =
  '  // my providers\n  "provider": {\n    "local": { "npm": "@ai-sdk/openai-compatible", "options": { "baseURL": "http://127.0.0.1:1/v1" } }\n  }\n}\n';

/**
 * Writes `original` as opencode.json, runs `gatepass setup` (sign-in number `login`) and the proxy,
 * then `opencode run`, which must answer from the gateway with only IdP-signed JWTs on the way.
 */
async function setupAndRun(original: string, login: number): Promise<void> {
  const proxyPort = await lab.setupOpencode(original, MODEL);
  await hook.waitForLogins(login, 10_000);
  expect(hook.logins()).toBe(login);
  const wired = parseJsonc(readFileSync(configFile(), 'utf8'));
  expect(wired.provider.local).toEqual(parseJsonc(original).provider.local);
  expect(wired.provider.gatepass.options.baseURL).toBe(`http://127.0.0.1:${proxyPort}/v1`);
  expect(wired.provider.gatepass.options.apiKey).toMatch(/^gp_local_/);
  expect(Object.keys(wired.provider.gatepass.models)).toEqual([MODEL]);

  const start = await gp(['proxy', 'start', '--background']);
  expect(start.code, start.stderr).toBe(0);

  const seen = fake.requests.length;
  const r = await runTool(
    t,
    opencodeBin(),
    ['run', '-m', `gatepass/${MODEL}`, 'hi'],
    150_000,
    OPENCODE_OFFLINE_ENV,
  );
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  const requests = fake.requests.slice(seen);
  const calls = requests.filter((q) => q.method === 'POST' && q.path === '/v1/chat/completions');
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.some((q) => JSON.parse(q.body).model === MODEL)).toBe(true);
  // Every request OpenCode made reached the gateway with the IdP's JWT in place of the local key.
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  for (const q of requests) {
    expect(q.authorization).toMatch(/^Bearer ey/);
    const { payload } = await jwtVerify(q.authorization!.slice(7), jwks, { issuer: idp.issuer });
    expect(payload.aud).toContain(idp.audience);
  }
  expect(hook.logins()).toBe(login);
}

it('opencode run answers through gatepass proxy with a JWT the IdP signed; teardown restores opencode.json', async () => {
  // OpenCode's own file as it writes it (with the "$schema" it adds), with a provider of the user's.
  const original = `{\n  "$schema": "https://opencode.ai/config.json",\n${userProvider}`;
  await setupAndRun(original, 1);

  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(readFileSync(configFile(), 'utf8')).toBe(original);
});

it('teardown keeps the "$schema" OpenCode adds to a file without one, takes out the rest and says so', async () => {
  const original = `{\n${userProvider}`;
  await setupAndRun(original, 2);
  const edited = readFileSync(configFile(), 'utf8');
  expect(parseJsonc(edited).$schema).toMatch(/^https:\/\/opencode\.ai\//);

  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  expect(td.stderr).toMatch(/opencode\.json \(changed: .*your edits were kept/);
  const after = readFileSync(configFile(), 'utf8');
  expect(parseJsonc(after)).toEqual({ ...parseJsonc(original), $schema: parseJsonc(edited).$schema });
  // Byte for byte the user's file, but for OpenCode's own line.
  expect(after.replace(/^ {2}"\$schema": "[^"]*",\n/m, '')).toBe(original);
});
