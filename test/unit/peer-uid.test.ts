/**
 * peer-uid.ts against the kernel's real socket tables: the uid found for a loopback connection (IPv4,
 * IPv6, IPv4-mapped) and for a listening port is this process' own.
 */
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeUid, listenerUid, peerCheckAvailable, peerUid } from '../../src/net/peer-uid.js';
import { hasIpv6Loopback } from '../helpers/ports.js';

async function lookUp(listenHost: string, connectHost: string): Promise<number | undefined> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  await new Promise<void>((r) => server.listen(0, listenHost, r));
  const port = (server.address() as AddressInfo).port;
  const client = net.connect(port, connectHost);
  const socket = await accepted;
  try {
    expect(listenerUid(listenHost === '::' ? '::' : listenHost, port)).toBe(process.getuid!());
    return await peerUid(socket);
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
}

describe.skipIf(!peerCheckAvailable())('peer uid from /proc/net/tcp{,6}', () => {
  it('finds this process as the peer of an IPv4 loopback connection', async () => {
    expect(await lookUp('127.0.0.1', '127.0.0.1')).toBe(process.getuid!());
  });

  it('finds it over IPv6 loopback and as an IPv4-mapped client of a dual-stack socket', async () => {
    if (!(await hasIpv6Loopback())) return;
    expect(await lookUp('::1', '::1')).toBe(process.getuid!());
    expect(await lookUp('::', '127.0.0.1')).toBe(process.getuid!());
  });

  it('a burst of connections is looked up in a few batched reads, each connection found', async () => {
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const clients = Array.from({ length: 60 }, () => net.connect(port, '127.0.0.1'));
    try {
      await new Promise<void>((resolve) => {
        const check = () => (accepted.length === clients.length ? resolve() : setTimeout(check, 10));
        check();
      });
      const uids = await Promise.all(accepted.map((s) => peerUid(s)));
      expect(new Set(uids)).toEqual(new Set([process.getuid!()]));
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });

  it('a table longer than one read chunk: every connection is found, lines cut at a chunk edge too', async () => {
    // 400 connections list 800 lines (~120 KB): the table is read in 64 KiB chunks and each lookup
    // stops once its line is seen, so some lines straddle a chunk boundary.
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const clients = Array.from({ length: 400 }, () => net.connect(port, '127.0.0.1'));
    try {
      await new Promise<void>((resolve) => {
        const check = () => (accepted.length === clients.length ? resolve() : setTimeout(check, 10));
        check();
      });
      const uids = await Promise.all(accepted.map((s) => peerUid(s)));
      expect(uids.filter((u) => u === process.getuid!())).toHaveLength(accepted.length);
      // One at a time as well (one needle per read, each read stopping early).
      for (const s of accepted.slice(-20)) expect(await peerUid(s)).toBe(process.getuid!());
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  }, 60_000);

  it('finds nobody for a port nothing listens on, and names uid 0', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    expect(listenerUid('127.0.0.1', port)).toBeUndefined();
    expect(describeUid(0)).toBe('root (uid 0)');
    expect(describeUid(2 ** 31 - 7)).toBe(`uid ${2 ** 31 - 7}`);
  });
});
