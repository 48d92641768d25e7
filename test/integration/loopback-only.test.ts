/**
 * Other machines (and containers on a bridge) must never reach gatepass' listeners: the proxy and
 * the login callback server bind loopback addresses only. Connecting through every non-loopback
 * address of this machine is refused.
 */
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { expect, it } from 'vitest';
import { startCallbackServer } from '../../src/auth/oidc/callback.js';
import { silentLogger } from '../../src/log.js';
import { startProxy } from '../../src/proxy/server.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { TestTokenSource } from '../helpers/tokens.js';

const external = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a && !a.internal && !a.address.startsWith('fe80:'))
  .map((a) => a!.address);

function connect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

it.skipIf(external.length === 0)(
  'the proxy and the callback server refuse connections on every non-loopback address',
  async () => {
    const proxy = await startProxy({
      tokenSource: new TestTokenSource(),
      gatewayUrl: 'http://127.0.0.1:9',
      port: 0,
      localKey: generateLocalProxyKey(),
      logger: silentLogger,
    });
    const callback = await startCallbackServer(0, 'state');
    try {
      expect(await connect('127.0.0.1', proxy.port)).toBe('connected');
      expect(await connect('127.0.0.1', callback.port)).toBe('connected');
      for (const host of external) {
        expect(await connect(host, proxy.port), `proxy via ${host}`).not.toBe('connected');
        expect(await connect(host, callback.port), `callback via ${host}`).not.toBe('connected');
      }
    } finally {
      await proxy.close(100);
      await callback.close();
    }
  },
);
