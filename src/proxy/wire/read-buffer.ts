/**
 * Where the wire engine's connections read into (the `onread` option: net.connect's for a
 * plain-HTTP gateway, upstream.ts; over an accepted socket's handle for a client, adopt.ts), instead
 * of a socket's Readable stream: each read is handed straight to its parser, without the stream's
 * per-read work (a new Buffer, push, the 'data' event, the read-more tick), and into one buffer all
 * those connections share (the engine parses a read to the end before the next one starts).
 *
 * The rule that makes sharing safe: bytes of a read into the shared buffer (`shared(b)`) do not
 * outlive the read. The parser copies what it keeps for the next read (a partial head, chunk-size
 * line or trailer: `keep` in http1.ts), and respond.ts copies what it hands to a socket write (a write the
 * kernel cannot take at once keeps its buffer). Small answers cost nothing more: they were already
 * copied into the one buffer written to the client. A request's head and body are kept by their
 * exchange past the read (a wait for a token, the pipelined request before it, a replay after a
 * 401): client.ts copies them out as they are parsed (Http1Head.own, owned). A read that fills its buffer (a large transfer)
 * sends the connection's next reads into buffers of their own (`readBuffer`), which are handed on
 * uncopied: a large download copies no more than it did with the stream.
 * A TLS gateway keeps the stream's reads (node:tls has no `onread`).
 */

/** The size of a read: what Node reads a socket with. */
export const READ_SIZE = 64 * 1024;

let sharedBuffer: Buffer | undefined;

/** The buffer for a connection's next read: the shared one, or its own after a read that filled one. */
function readBuffer(bulk: boolean): Buffer {
  if (bulk) return Buffer.allocUnsafeSlow(READ_SIZE);
  sharedBuffer ??= Buffer.allocUnsafeSlow(READ_SIZE);
  return sharedBuffer;
}

/** A socket's `onread` option (net.Socket, net.connect). */
export interface OnRead {
  /** The buffer for the next read (called before the first read and after each one). */
  buffer: () => Buffer;
  /** One read: buf[0, n). */
  callback: (n: number, buf: Uint8Array) => boolean;
}

/**
 * The `onread` option for one connection reading into the shared buffer: each read is handed to
 * `onData` (d[0, n)); after a read that filled its buffer, the next goes into a buffer of its own.
 */
export function sharedReads(onData: (d: Buffer, n: number) => void): OnRead {
  let bulk = false;
  return {
    buffer: () => readBuffer(bulk),
    callback: (n, buf) => {
      bulk = n === buf.length; // a full read: more is coming, into buffers of its own
      onData(buf as Buffer, n);
      return true; // false would pause the socket
    },
  };
}

/** Are `b`'s bytes in the shared read buffer (valid only until the read being parsed is done)? */
export function shared(b: Buffer): boolean {
  return sharedBuffer !== undefined && b.buffer === sharedBuffer.buffer;
}

/** `b` itself, or a copy of it when its bytes are in the shared read buffer. */
export function owned(b: Buffer): Buffer {
  return shared(b) ? Buffer.from(b) : b;
}
