/**
 * Client connections of the wire engine read with `onread`, into the buffer read-buffer.ts keeps,
 * as its gateway connections do (upstream.ts): not through the socket's Readable stream, whose
 * per-read work (a 64 KiB allocation shrunk to the read, a Buffer, push, the 'data' event, the
 * read-more tick) was the largest single cost left on the proxy's hot path (bench/README.md,
 * "Client reads without the stream").
 *
 * Why this module reaches past Node's documented API: `onread` is an option of the net.Socket
 * constructor and of net.connect, but node:net has none for the sockets a server accepts. So the
 * server is created with `pauseOnConnect` (documented: nothing is read yet), and the accepted
 * socket's handle is given to a new net.Socket with `onread` — the constructor's `handle` option,
 * how node:net itself wraps handles passed between processes (child_process, cluster); the
 * accepted socket stays as the server's record of the connection (its connection count, its
 * 'close', the same-user verdict keyed on it) and is destroyed, handle-less, once the new one
 * closes. Every step is checked: a Node whose sockets lack what this relies on keeps the stream
 * (the accepted socket, resumed), which serves the same requests the same way, only slower.
 */
import net from 'node:net';
import type { OnRead } from './read-buffer.js';

/** The parts of a connected socket's native handle this relies on (checked here on every socket). */
interface StreamHandle {
  readStart: unknown;
  readStop: unknown;
  useUserBuffer: unknown;
}

type WithHandle = net.Socket & { _handle?: StreamHandle | null };

/**
 * A socket reading `accepted`'s connection with `onread`, or undefined when it cannot be made (the
 * caller reads `accepted` as a stream then). `accepted` must not have read anything yet (a server
 * with `pauseOnConnect`): bytes already in its stream would be lost.
 */
export function adoptReads(accepted: net.Socket, onread: OnRead): net.Socket | undefined {
  const a = accepted as WithHandle;
  const handle = a._handle;
  if (
    !handle ||
    accepted.destroyed ||
    accepted.readableFlowing !== false || // not paused on connect: it may have read already
    accepted.readableLength !== 0 ||
    typeof handle.readStart !== 'function' ||
    typeof handle.readStop !== 'function' ||
    typeof handle.useUserBuffer !== 'function'
  )
    return undefined;
  let s: WithHandle;
  try {
    s = new net.Socket({ handle, allowHalfOpen: true, onread } as net.SocketConstructorOpts) as WithHandle;
  } catch {
    return undefined;
  }
  if (s._handle !== handle) {
    // This Node did not take the handle: an unconnected socket, dropped; the stream stays.
    s.destroy();
    return undefined;
  }
  a._handle = null; // the handle is the new socket's now: closing `accepted` must not close it
  s.once('close', () => accepted.destroy());
  return s;
}
