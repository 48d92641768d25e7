/**
 * Issue #20, identity telemetry, end to end with real parts: `gatepass setup --otel-endpoint` signs
 * in through the real IdP (oidc-provider, headless Chromium) and wires Claude Code's OpenTelemetry
 * exporter with `otelHeadersHelper` = `gatepass headers --otel`. The real `claude -p` then exports
 * to a local OTLP/HTTP collector, which counts the exports and checks that each carries the signed-in
 * user's identity headers (sub and email from the ID token). Teardown takes the settings out again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { FAKE_REPLY, type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { BIN, oidcSetupFlags, runTool } from '../helpers/tool-e2e.js';

interface Export {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
}

let idp: TestIdp;
let hook: BrowserHook;
let fake: FakeLlm;
let collector: Server;
let collectorUrl: string;
const exportsSeen: Export[] = [];
let t: TempHome;
beforeAll(async () => {
  [idp, hook, fake] = await Promise.all([startTestIdp(), startBrowserHook(), startFakeLlm()]);
  collector = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      exportsSeen.push({ path: req.url ?? '', headers: req.headers, bytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Export soon (the defaults are a minute and more); `claude -p` also flushes on exit.
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    OTEL_LOGS_EXPORT_INTERVAL: '1000',
    ...hook.env,
  });
  for (const k of Object.keys(t.env))
    if (/^(ANTHROPIC_|CLAUDE_CONFIG_DIR$|OTEL_EXPORTER|CLAUDE_CODE_)/.test(k)) delete t.env[k];
});
afterAll(async () => {
  await new Promise((r) => collector?.close(r));
  await fake?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 120_000 });

it("claude's OTel exports reach the collector with the signed-in user's identity headers", async () => {
  const setup = await gp([
    'setup',
    ...(await oidcSetupFlags(fake.url, idp, 'claude')),
    '--otel-endpoint',
    collectorUrl,
  ]);
  expect(setup.code, setup.stderr).toBe(0);
  await hook.waitForLogins(1, 10_000);
  const settingsFile = path.join(t.home, '.claude/settings.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
  expect(settings.otelHeadersHelper).toContain(`--config ${t.configFile} --provider default headers --otel`);
  expect(settings.env).toMatchObject({
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
  });

  const headers = await gp(['headers', '--otel']);
  expect(headers.code, headers.stderr).toBe(0);
  const identity = JSON.parse(headers.stdout) as Record<string, string>;
  expect(identity['x-user-id']).toBeTruthy();
  expect(identity['x-user-email']).toBe(`${identity['x-user-id']}@example.test`);

  const r = await runTool(t, 'claude', ['-p', 'hi'], 180_000);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(FAKE_REPLY);
  for (let i = 0; i < 100 && exportsSeen.length === 0; i++) await new Promise((res) => setTimeout(res, 100));
  expect(exportsSeen.length, 'OTLP exports received').toBeGreaterThan(0);
  expect(exportsSeen.some((e) => e.path === '/v1/metrics' || e.path === '/v1/logs')).toBe(true);
  for (const e of exportsSeen) {
    expect(e.headers['x-user-id'], e.path).toBe(identity['x-user-id']);
    expect(e.headers['x-user-email'], e.path).toBe(identity['x-user-email']);
  }

  const td = await gp(['teardown']);
  expect(td.code, td.stderr).toBe(0);
  // gatepass created the settings file: teardown removes it with the telemetry settings.
  expect(existsSync(settingsFile)).toBe(false);
});
