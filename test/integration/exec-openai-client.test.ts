/**
 * End to end on loopback: a command provider's token reaches a real client library through
 * `gatepass exec`. The official `openai` SDK, run by `gatepass exec`, calls a loopback "gateway"
 * that only accepts the token the fake SSO command issued.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { shellQuote } from '../../src/auth/export.js';
import { makeTempHome, ROOT, runGatepass, type TempHome } from '../helpers/cli.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/token-cmd.mjs');
const TOKEN = 'corp-sso-token-7f3a9c';

let t: TempHome;
let server: Server;
let seen: string[];
let base: string;

beforeEach(async () => {
  t = makeTempHome();
  seen = [];
  server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"bad token"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'cmpl-1',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: { role: 'assistant', content: 'hello from the gateway' },
          },
        ],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  t.cleanup();
});

it('gatepass exec hands the command provider token to the official openai SDK', async () => {
  const tokenCommand = [process.execPath, FAKE, 'bare', TOKEN].map(shellQuote).join(' ');
  const set = await runGatepass(
    [
      'config',
      'set',
      '--type',
      'command',
      '--gateway-url',
      base,
      '--token-command',
      tokenCommand,
      '--env-var',
      'OPENAI_API_KEY',
    ],
    { env: t.env },
  );
  expect(set.code).toBe(0);
  const client = `
    import OpenAI from 'openai';
    const c = new OpenAI({ baseURL: process.env.GATEPASS_GATEWAY_URL + '/v1' });
    const r = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    console.log(r.choices[0].message.content);`;
  const r = await runGatepass(['exec', '--', process.execPath, '--input-type=module', '-e', client], {
    env: t.env,
    cwd: ROOT,
  });
  expect(r.stderr).not.toContain(TOKEN);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe('hello from the gateway');
  expect(seen).toEqual([`Bearer ${TOKEN}`]);
});
