/**
 * peer-uid.ts batching, counted: lookups made in the same turn of the event loop (a client opening
 * its connection pool) share one read of the socket table, each walk of which costs the kernel a
 * few ms of CPU. The reads are counted by wrapping node:fs/promises' open(); the lookups are real.
 */
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';

const opened: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: (file: string, ...rest: unknown[]) => {
      opened.push(file);
      return (real.open as (...a: unknown[]) => unknown)(file, ...rest);
    },
  };
});

const { peerCheckAvailable, peerUid } = await import('../../src/net/peer-uid.js');

describe.skipIf(!peerCheckAvailable())('same-turn lookups share a read', () => {
  it('32 connections looked up in one turn: one read of /proc/net/tcp, every one found', async () => {
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const clients = Array.from({ length: 32 }, () => net.connect(port, '127.0.0.1'));
    try {
      await vi.waitFor(() => expect(accepted.length).toBe(clients.length), { timeout: 10_000 });
      opened.length = 0;
      const uids = await Promise.all(accepted.map((s) => peerUid(s)));
      expect(new Set(uids)).toEqual(new Set([process.getuid!()]));
      expect(opened).toEqual(['/proc/net/tcp']);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });
});
