/**
 * A real HTTP CONNECT egress proxy on loopback (node:http's `connect` event), for tests of corporate
 * networks: it resolves host names only from its own `hosts` map (e.g. `idp.corp.test:443` →
 * 127.0.0.1:<port>), so a client that bypasses it cannot reach those hosts at all. Optional Basic
 * proxy authentication (407 without it). Counts tunnels per target; can be taken down and up again.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface ConnectProxyOptions {
  /** `host:port` as the client asks for it → where the proxy really connects. */
  hosts: Record<string, { host: string; port: number }>;
  /** Require `Proxy-Authorization: Basic` with these credentials. */
  auth?: { username: string; password: string };
}

export interface ConnectProxy {
  /** http://127.0.0.1:<port> (without credentials). */
  url: string;
  port: number;
  /** Successful tunnels, by target `host:port`. */
  tunnels: Record<string, number>;
  /** Total successful tunnels. */
  tunnelCount(): number;
  /** CONNECT requests refused (407 bad/missing credentials, 502 unknown host). */
  refused: Array<{ target: string; status: number }>;
  /** The Proxy-Authorization headers seen (to check what clients sent). */
  authHeaders: string[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions): Promise<ConnectProxy> {
  const tunnels: Record<string, number> = {};
  const refused: ConnectProxy['refused'] = [];
  const authHeaders: string[] = [];
  const sockets = new Set<net.Socket>();
  const expected = options.auth
    ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
    : undefined;

  const server = http.createServer((_req, res) => {
    // Only tunnels: every origin here is https.
    res.writeHead(405, { connection: 'close' }).end('this test proxy only does CONNECT\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const target = (req.url ?? '').toLowerCase();
    const auth = req.headers['proxy-authorization'];
    if (typeof auth === 'string') authHeaders.push(auth);
    const refuse = (status: number, text: string) => {
      refused.push({ target, status });
      client.end(
        `HTTP/1.1 ${status} ${text}\r\n${status === 407 ? 'proxy-authenticate: Basic realm="test"\r\n' : ''}content-length: 0\r\nconnection: close\r\n\r\n`,
      );
    };
    if (expected && auth !== expected) return refuse(407, 'Proxy Authentication Required');
    const dest = options.hosts[target];
    if (!dest) return refuse(502, 'Bad Gateway');
    const upstream = net.connect(dest.port, dest.host, () => {
      tunnels[target] = (tunnels[target] ?? 0) + 1;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    tunnelCount: () => Object.values(tunnels).reduce((a, b) => a + b, 0),
    refused,
    authHeaders,
    down,
    up: async () => {
      if (!server.listening) await listen(port);
    },
    close: down,
  };
}
