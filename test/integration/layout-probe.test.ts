/**
 * The gateway layout probe against fake gateways that answer like real ones, through the built CLI
 * (`setup --dry-run`, so the diff shows the URLs setup would write): a gateway answering 401 on every
 * path has no prefix, a prefix is chosen only when the plain path is 404 and the prefixed one is
 * not, a gateway_url with a path keeps it, and an unreachable gateway is a warning on stderr.
 */

import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

type Route = (p: string) => number;

async function gateway(route: Route): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    seen.push(`${req.method} ${p}`);
    res.writeHead(route(p));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let t: TempHome;
let close: (() => Promise<void>) | undefined;
beforeEach(() => {
  t = makeTempHome();
  mkdirSync(path.join(t.home, '.claude'));
  mkdirSync(path.join(t.home, '.codex'));
});
afterEach(async () => {
  await close?.();
  close = undefined;
  t.cleanup();
});

/** setup --dry-run against `gw`: the Anthropic and OpenAI base URLs it would write, and stderr. */
async function dryRun(gw: string) {
  const issuer = `http://127.0.0.1:${await freePort()}`; // nothing listens: a warning, no failure
  const r = await runGatepass(
    [
      'setup',
      '--dry-run',
      '--tools',
      'claude,codex',
      '--gateway-url',
      gw,
      '--issuer',
      issuer,
      '--client-id',
      'c',
    ],
    { env: t.env },
  );
  expect(r.code, r.stderr).toBe(0);
  const anthropic = /^\+.*"ANTHROPIC_BASE_URL": "([^"]+)"/m.exec(r.stdout)?.[1];
  const openai = /^\+base_url = "([^"]+)"/m.exec(r.stdout)?.[1];
  return { anthropic, openai, stderr: r.stderr };
}

describe('gateway layout probe', () => {
  it('a gateway answering 401 on every path has no prefix', async () => {
    const gw = await gateway(() => 401);
    close = gw.close;
    const r = await dryRun(gw.url);
    expect(r.anthropic).toBe(gw.url);
    expect(r.openai).toBe(`${gw.url}/v1`);
    expect(gw.seen).toEqual(
      expect.arrayContaining(['HEAD /anthropic/v1/messages', 'HEAD /v1/messages', 'HEAD /openai/v1/models']),
    );
    expect(r.stderr).not.toMatch(/could not reach the gateway/);
  });

  it('picks the prefixes when only the prefixed paths are routed (plain ones 404)', async () => {
    const gw = await gateway((p) => (p.startsWith('/anthropic/') || p.startsWith('/openai/') ? 401 : 404));
    close = gw.close;
    const r = await dryRun(gw.url);
    expect(r.anthropic).toBe(`${gw.url}/anthropic`);
    expect(r.openai).toBe(`${gw.url}/openai/v1`);
  });

  it('no prefix when only the plain paths are routed', async () => {
    const gw = await gateway((p) => (p.startsWith('/v1/') ? 405 : 404));
    close = gw.close;
    const r = await dryRun(gw.url);
    expect(r.anthropic).toBe(gw.url);
    expect(r.openai).toBe(`${gw.url}/v1`);
  });

  it('a gateway_url with a path: probes and wires under it', async () => {
    const gw = await gateway((p) => (p.startsWith('/llm/anthropic/') ? 401 : 404));
    close = gw.close;
    const r = await dryRun(`${gw.url}/llm`);
    expect(gw.seen).toEqual(
      expect.arrayContaining(['HEAD /llm/anthropic/v1/messages', 'HEAD /llm/v1/messages']),
    );
    expect(r.anthropic).toBe(`${gw.url}/llm/anthropic`);
    expect(r.openai).toBe(`${gw.url}/llm/v1`);
  });

  it('an unreachable gateway: no prefix, and a warning on stderr', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await dryRun(url);
    expect(r.anthropic).toBe(url);
    expect(r.stderr).toMatch(
      /warning: could not reach the gateway at http:\/\/127\.0\.0\.1:\d+ to detect its path prefixes/,
    );
    expect(r.stderr.match(/could not reach the gateway/g)).toHaveLength(1);
  });
});
