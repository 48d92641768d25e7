/**
 * The login callback server on a real loopback socket, fed raw requests a browser never sends: it
 * must answer them, keep waiting, and still take the real redirect afterwards.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type CallbackServer, startCallbackServer } from '../../src/auth/oidc/callback.js';

let server: CallbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Send raw bytes and return the status line of the answer. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
  });
}

it('answers malformed and absolute-form targets with 400, then accepts the real callback', async () => {
  server = await startCallbackServer(0, 'state-1');
  const { port } = server;
  expect(server.redirectUri).toBe(`http://127.0.0.1:${port}/callback`);
  // An unparsable absolute-form target used to throw inside the request handler and crash the login.
  expect(await raw(port, 'GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
  // Right state and a code, but absolute-form naming another host: not the browser's redirect.
  expect(
    await raw(port, 'GET http://evil.example/callback?code=c&state=state-1 HTTP/1.1\r\nHost: x\r\n\r\n'),
  ).toBe('HTTP/1.1 400 Bad Request');
  expect(await raw(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');

  const res = fetch(`${server.redirectUri}?code=real-code&state=state-1`);
  const hit = await server.result;
  expect(hit.url.href).toBe(`http://127.0.0.1:${port}/callback?code=real-code&state=state-1`);
  hit.respond(true);
  const page = await res;
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('Logged in');
});
