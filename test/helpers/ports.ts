import net from 'node:net';

/** A loopback port that was free a moment ago (for configs that need a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Can this machine listen on ::1? (Then the proxy must, too.) */
export async function hasIpv6Loopback(): Promise<boolean> {
  const s = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '::1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}
