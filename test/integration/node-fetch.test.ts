/**
 * net/node-fetch.ts, the fetch openid-client gets when no TLS option or egress proxy applies,
 * against a real loopback HTTP server: what openid-client relies on from fetch (status, headers,
 * body, no redirect followed, the abort reason, network failures as `TypeError('fetch failed')`
 * with the cause's code), side by side with Node's own fetch where they must agree.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../src/net/node-fetch.js';
import { freePort } from '../helpers/ports.js';

let server: http.Server;
let base: string;
const seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, headers: req.headers, body });
      if (req.url === '/json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
        res.end(JSON.stringify({ ok: true, echo: body }));
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify({ zipped: true })));
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: '/json' }).end();
      } else if (req.url === '/error') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant' }));
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 5_000);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('nodeFetch', () => {
  it('POSTs a form body and returns status, headers and body as a Response', async () => {
    const res = await nodeFetch(`${base}/json`, {
      method: 'POST',
      headers: { accept: 'application/json', 'User-Agent': 'test' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r t' }),
      redirect: 'manual',
    });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('max-age=60');
    expect(await res.json()).toEqual({ ok: true, echo: 'grant_type=refresh_token&refresh_token=r+t' });
    const req = seen.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers!['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(req.headers!['user-agent']).toBe('test');
    expect(req.headers!['accept']).toBe('application/json');
  });

  it('decodes a gzip body, as fetch does', async () => {
    const mine = await nodeFetch(`${base}/gzip`);
    const theirs = await fetch(`${base}/gzip`);
    expect(await mine.json()).toEqual(await theirs.json());
    expect(mine.headers.get('content-encoding')).toBeNull();
  });

  it('follows no redirect: the 3xx comes back as it is, like fetch with redirect: manual', async () => {
    const mine = await nodeFetch(`${base}/redirect`, { redirect: 'manual' });
    const theirs = await fetch(`${base}/redirect`, { redirect: 'manual' });
    expect(mine.status).toBe(302);
    expect(mine.status).toBe(theirs.status);
    expect(mine.headers.get('location')).toBe(theirs.headers.get('location'));
  });

  it('hands on error statuses and bodiless answers', async () => {
    const err = await nodeFetch(`${base}/error`);
    expect(err.status).toBe(400);
    expect(await err.json()).toEqual({ error: 'invalid_grant' });
    const empty = await nodeFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('rejects with the signal reason (a TimeoutError) when the signal fires, as fetch does', async () => {
    const mine = await nodeFetch(`${base}/slow`, { signal: AbortSignal.timeout(200) }).catch(
      (e: unknown) => e,
    );
    const theirs = await fetch(`${base}/slow`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((mine as Error).name).toBe('TimeoutError');
    expect((mine as Error).name).toBe((theirs as Error).name);
  });

  it('a refused connection is TypeError("fetch failed") with the ECONNREFUSED cause, as with fetch', async () => {
    const port = await freePort();
    const mine = await nodeFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    const theirs = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(mine).toBeInstanceOf(TypeError);
    expect((mine as Error).message).toBe((theirs as Error).message);
    expect(((mine as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(((theirs as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
