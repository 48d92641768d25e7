/**
 * Which local user owns the other end of a loopback TCP connection, and which user holds a listening
 * port: Linux only, from the kernel's socket tables in /proc/net/tcp and /proc/net/tcp6 (the `uid`
 * column is the owner of the socket). The proxy uses it to serve only its own user (a key harvested
 * by another local user is useless) and to name the user squatting its port. Elsewhere (macOS,
 * Windows, a kernel without /proc) `peerCheckAvailable()` is false and the callers say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

async function readTable(family: 4 | 6): Promise<string> {
  try {
    return await readFile(TABLES[family], 'latin1');
  } catch {
    return '';
  }
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
    if (!b.reading) void drain(family);
  });
}

async function drain(family: 4 | 6): Promise<void> {
  const b = batches[family];
  b.reading = true;
  while (b.waiting) {
    const batch = b.waiting;
    b.waiting = undefined;
    const table = await readTable(family);
    if (batch.needles.length < 8) {
      for (const [i, n] of batch.needles.entries()) batch.resolve[i]!(uidAfter(table, n));
    } else {
      const uids = indexTable(table);
      for (const [i, n] of batch.needles.entries()) batch.resolve[i]!(uids.get(n));
    }
  }
  b.reading = false;
}

/** "local remote" → uid for every line of a table (for large batches). */
function indexTable(table: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]!.endsWith(':')) continue;
    const uid = Number(f[7]);
    if (Number.isInteger(uid)) out.set(`${f[1]} ${f[2]}`, uid);
  }
  return out;
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
