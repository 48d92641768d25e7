/**
 * What the proxy records of the errors it makes itself (src/proxy/error-log.ts): every 403, 401 and
 * 502/504 with its cause, on both engines, in a 0600 file that is rotated past its size limit, and
 * never a secret (neither the local key, even in the query, nor the gateway token).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createErrorLog } from '../../src/proxy/error-log.js';
import { startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { freePort } from '../helpers/ports.js';
import { authRequired, TestTokenSource } from '../helpers/tokens.js';

const KEY = generateLocalProxyKey();
const TOKEN = 'gateway-token-never-logged';
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-errlog-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function get(port: number, p: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
  await res.text();
  return res.status;
}

describe('proxy-made errors are logged with their cause', () => {
  for (const engine of ['wire', 'node'] as const) {
    it(`${engine} engine: 403, 401 and 502 each get a line; no secret`, async () => {
      const file = path.join(dir, `${engine}.log`);
      const down = `http://127.0.0.1:${await freePort()}`;
      const start = (source: TestTokenSource) =>
        startProxy({
          tokenSource: source,
          gatewayUrl: down,
          port: 0,
          host: '127.0.0.1',
          localKey: KEY,
          logger: silentLogger,
          engine,
          errorLog: createErrorLog(file),
        });
      const ok = await start(new TestTokenSource({ issue: () => TOKEN }));
      const noToken = await start(new TestTokenSource({ fail: authRequired() }));
      try {
        expect(await get(ok.port, `/v1/models?key=${KEY.slice(0, -2)}xx&alt=1`)).toBe(403);
        expect(await get(ok.port, '/v1/models', { 'x-api-key': KEY })).toBe(502);
        expect(await get(noToken.port, `/v1/messages?key=${KEY}`)).toBe(401);
      } finally {
        await ok.close(100);
        await noToken.close(100);
      }
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ proxy: 403 GET \/v1\/models: .*local proxy key/);
      expect(lines[1]).toMatch(
        new RegExp(`proxy: 502 GET /v1/models: .*could not reach the gateway at ${down} \\(ECONNREFUSED\\)`),
      );
      expect(lines[2]).toMatch(/proxy: 401 GET \/v1\/messages: .*no gateway token available/);
      const text = lines.join('\n');
      expect(text).not.toContain(KEY.slice(0, 20));
      expect(text).not.toContain(TOKEN);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  it('is bounded: rotated to .1 past its size limit; control characters never reach it', () => {
    const file = path.join(dir, 'rotate.log');
    const log = createErrorLog(file, 300);
    for (let i = 0; i < 10; i++) log('GET', `/p${i}?key=secret`, 502, `cause\x1b[31m ${i}\r\nforged line`);
    const current = readFileSync(file, 'utf8');
    const rotated = readFileSync(`${file}.1`, 'utf8');
    expect(current.length).toBeLessThanOrEqual(300);
    expect(rotated.length).toBeLessThanOrEqual(300);
    expect(current).toContain('/p9: cause');
    expect(`${rotated}${current}`).not.toMatch(/[\x1b\r]|secret/);
    expect(
      current
        .split('\n')
        .filter(Boolean)
        .every((l) => l.includes(' proxy: 502 GET /p')),
    ).toBe(true);
  });
});
