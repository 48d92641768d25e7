/**
 * Which local user owns the other end of a loopback TCP connection, and which user holds a listening
 * port: Linux only, from the kernel's socket tables in /proc/net/tcp and /proc/net/tcp6 (the `uid`
 * column is the owner of the socket). The proxy uses it to serve only its own user (a key harvested
 * by another local user is useless) and to name the user squatting its port. Elsewhere (macOS,
 * Windows, a kernel without /proc) `peerCheckAvailable()` is false and the callers say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';

const TABLES = { 4: '/proc/net/tcp', 6: '/proc/net/tcp6' } as const;
const LITTLE_ENDIAN = os.endianness() === 'LE';
const LISTEN = '0A';

/** True when this platform exposes the socket tables (Linux with /proc mounted). */
export function peerCheckAvailable(): boolean {
  return process.platform === 'linux' && existsSync(TABLES[4]);
}

/** The kernel's hex spelling of an address (32-bit words in host byte order), or undefined. */
function hexAddress(address: string): { family: 4 | 6; hex: string } | undefined {
  let a = address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  // An IPv4 client of a dual-stack socket: its own socket is an IPv4 one, listed in /proc/net/tcp.
  if (mapped && net.isIPv4(mapped[1]!)) a = mapped[1]!;
  if (net.isIPv4(a)) return { family: 4, hex: wordsHex(Buffer.from(a.split('.').map(Number))) };
  if (!net.isIPv6(a)) return undefined;
  a = a.replace(/%.*$/, '');
  return { family: 6, hex: wordsHex(ipv6Bytes(a)) };
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter((x) => x !== '') : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const buf = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) buf.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return buf;
}

function wordsHex(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const w = bytes.subarray(i, i + 4);
    out += (LITTLE_ENDIAN ? Buffer.from(w).reverse() : w).toString('hex');
  }
  return out.toUpperCase();
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** The uid column of the table line that starts (after `sl:`) with `needle`, or undefined. */
function uidAfter(table: string, needle: string): number | undefined {
  const at = table.indexOf(` ${needle} `);
  if (at < 0) return undefined;
  const end = table.indexOf('\n', at);
  // local rem st tx:rx tr:when retrnsmt uid
  const fields = table
    .slice(at, end < 0 ? undefined : end)
    .trim()
    .split(/\s+/);
  const uid = Number(fields[6]);
  return Number.isInteger(uid) ? uid : undefined;
}

/** Bytes read from a table at a time: the scan stops as soon as every connection looked for is seen. */
const SCAN_CHUNK = 64 * 1024;

/**
 * The uid of each `needles` line of a table, reading it a chunk at a time and stopping once all are
 * found. The kernel builds the table as it is read (~2 µs a line, and a busy machine lists thousands
 * of TIME_WAIT sockets), so stopping early saves half the cost on average; a connection not listed
 * costs a full read, as before. Only whole lines are searched.
 */
async function scanTable(family: 4 | 6, needles: string[]): Promise<(number | undefined)[]> {
  const uids: (number | undefined)[] = needles.map(() => undefined);
  const wanted = needles.map((n) => Buffer.from(` ${n} `, 'latin1'));
  let left = needles.length;
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    file = await open(TABLES[family], 'r');
    // Searched as bytes (no string per chunk); a partial last line moves to the front for the next read.
    const buf = Buffer.allocUnsafe(2 * SCAN_CHUNK);
    let carry = 0;
    for (;;) {
      const { bytesRead } = await file.read(buf, carry, SCAN_CHUNK, null);
      const end = carry + bytesRead;
      const whole = bytesRead > 0 ? buf.lastIndexOf(10, end - 1) + 1 : end;
      const view = buf.subarray(0, whole);
      for (let i = 0; i < wanted.length && left > 0; i++) {
        if (uids[i] !== undefined) continue;
        const at = view.indexOf(wanted[i]!);
        if (at < 0) continue;
        const eol = view.indexOf(10, at);
        uids[i] = uidAfter(view.toString('latin1', at, eol < 0 ? whole : eol + 1), needles[i]!);
        if (uids[i] !== undefined) left--;
      }
      if (left === 0 || bytesRead === 0) break;
      carry = end - whole;
      if (carry >= SCAN_CHUNK)
        carry = 0; // no line is this long: drop it rather than overflow
      else buf.copy(buf, 0, whole, end);
    }
  } catch {
    // No table (not Linux, no /proc): nothing found.
  } finally {
    await file?.close().catch(() => undefined);
  }
  return uids;
}

/** Lookups waiting for the next read of one table. */
interface Batch {
  needles: string[];
  resolve: ((uid: number | undefined) => void)[];
}

/**
 * One read of a table serves every lookup queued before it started (a burst of N connections costs
 * a few reads, not N reads of a table N lines long); lookups arriving during a read wait for the
 * next one, which is sure to list their connections.
 */
const batches = {
  4: { waiting: undefined as Batch | undefined, reading: false },
  6: { waiting: undefined as Batch | undefined, reading: false },
};

function lookUp(family: 4 | 6, needle: string): Promise<number | undefined> {
  const b = batches[family];
  return new Promise((resolve) => {
    b.waiting ??= { needles: [], resolve: [] };
    b.waiting.needles.push(needle);
    b.waiting.resolve.push(resolve);
    if (b.reading) return;
    // The read starts after this turn of the event loop: the connections accepted in the same turn
    // (a client opening its pool: 32 at once for wrk -c32) share it instead of waiting for the next.
    b.reading = true;
    setImmediate(() => void drain(family));
  });
}

async function drain(family: 4 | 6): Promise<void> {
  const b = batches[family];
  while (b.waiting) {
    const batch = b.waiting;
    b.waiting = undefined;
    const uids = await scanTable(family, batch.needles);
    for (const [i, uid] of uids.entries()) batch.resolve[i]!(uid);
  }
  b.reading = false;
}

/**
 * The uid owning the client end of an accepted connection: the table line whose local address is
 * the socket's remote end and whose remote address is the socket's local end. undefined when it
 * cannot be found (the client already went away, another network namespace, no /proc).
 */
export async function peerUid(socket: net.Socket): Promise<number | undefined> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
  const remote = hexAddress(remoteAddress);
  const local = hexAddress(localAddress);
  if (!remote || !local || remote.family !== local.family) return undefined;
  return lookUp(remote.family, `${remote.hex}:${hexPort(remotePort)} ${local.hex}:${hexPort(localPort)}`);
}

/**
 * The uid of a socket listening on `port` at `host` (or on the wildcard address of its family),
 * read synchronously (only when a listen failed). undefined when nothing is found.
 */
export function listenerUid(host: string, port: number): number | undefined {
  const addr = hexAddress(host);
  if (!addr) return undefined;
  let table: string;
  try {
    table = readFileSync(TABLES[addr.family], 'latin1');
  } catch {
    return undefined;
  }
  const any = addr.family === 4 ? '00000000' : '0'.repeat(32);
  for (const a of [addr.hex, any]) {
    const uid = uidAfter(table, `${a}:${hexPort(port)} ${any}:0000 ${LISTEN}`);
    if (uid !== undefined) return uid;
  }
  return undefined;
}

/** "name (uid N)" from /etc/passwd, or "uid N" when the uid has no entry there. */
export function describeUid(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 3 && Number(f[2]) === uid && f[0]) return `${f[0]} (uid ${uid})`;
    }
  } catch {
    // No passwd file: the number alone.
  }
  return `uid ${uid}`;
}
