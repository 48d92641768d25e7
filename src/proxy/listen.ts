/**
 * Listening: the proxy binds loopback only (127.0.0.1, plus ::1 when the machine has IPv6 loopback,
 * or the one host asked for), refusing a port another user holds (their listener would collect the
 * local key from the tools' requests), with clear errors for a port in use.
 */
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describeError, ProxyError } from '../errors.js';
import { describeUid, listenerUid } from '../net/peer-uid.js';
import type { Front } from './front.js';
import type { ProxySettings } from './options.js';

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

/**
 * Listen on every address with a server from `front`, pushed to `servers`; sets s.port to the port
 * bound (one picked when it was 0) and returns the addresses bound. On failure the servers created
 * are closed before the error is thrown.
 */
export async function listenAll(
  s: ProxySettings,
  front: Front,
  servers: net.Server[],
  ownUid: number | undefined,
): Promise<string[]> {
  const { options, logger } = s;
  const addresses: string[] = [];
  const hosts = options.host ? [options.host] : ['127.0.0.1', '::1'];
  let port = s.port;
  try {
    for (const [i, host] of hosts.entries()) {
      const srv = front.createServer();
      servers.push(srv);
      try {
        port = await listen(srv, port, host);
        s.port = port;
        addresses.push(host);
      } catch (err) {
        servers.pop();
        const code = (err as NodeJS.ErrnoException).code;
        const holder = code === 'EADDRINUSE' && ownUid !== undefined ? listenerUid(host, port) : undefined;
        if (holder !== undefined && holder !== ownUid) {
          // Another user's listener would collect the local key from the tools' requests.
          throw new ProxyError(
            'E_PORT_IN_USE',
            `port ${port} on ${host} is held by another user: ${describeUid(holder)}`,
            {
              hint: 'tools would send your local proxy key to that process; find it with `ss -ltnp` (as root), or choose another port with --port',
            },
          );
        }
        if (i > 0) {
          // ::1 is a bonus: machines without IPv6 loopback (or with the port taken there) still work.
          logger.debug(`proxy: not listening on ${host}: ${code}`);
          continue;
        }
        if (code === 'EADDRINUSE') {
          throw new ProxyError('E_PORT_IN_USE', `port ${port} on ${host} is already in use`, {
            hint: 'stop what uses it (`gatepass proxy status`), or choose another with --port',
          });
        }
        throw new ProxyError('E_PROXY', `cannot listen on ${host}:${port}: ${describeError(err)}`, {
          cause: err,
        });
      }
    }
  } catch (err) {
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
    throw err;
  }
  return addresses;
}
