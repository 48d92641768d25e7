/**
 * The engine in front of the listening sockets, behind one small interface for server.ts: the
 * server created for each address (wire: a plain net.Server handing accepted sockets to the wire
 * engine after the same-user check; node: node:http with the check started on each connection) and
 * how its connections close when the proxy stops. The node engine's front is node/front.ts, imported
 * only when that engine is chosen (node:http and its handler are not loaded otherwise).
 */
import net from 'node:net';
import { checkPeer, type PeerCheck } from './peer.js';
import type { WireEngine } from './wire/index.js';

export interface Front {
  /** A new server (not listening yet) for one listen address. */
  createServer(): net.Server;
  /** Close one server; `done` when it has closed (node: its idle connections close now too). */
  closeServer(server: net.Server, done: () => void): void;
  /** Stop: idle client connections close now, busy ones after their current exchange. */
  closeIdle(): void;
  /** The grace period is over: cut every connection still open. */
  cut(servers: net.Server[]): void;
  /** Listening failed: free what the engine holds. */
  abort(): void;
}

/**
 * The wire engine's servers. Paused on connect: nothing is read before the engine reads each
 * connection its own way (wire/adopt.ts), after the same-user check.
 */
export const WIRE_SERVER_OPTIONS: net.ServerOpts = {
  allowHalfOpen: true,
  noDelay: true,
  pauseOnConnect: true,
};

export function wireFront(wire: WireEngine, peers: PeerCheck): Front {
  const wireAccept = (socket: net.Socket) => {
    if (!peers.enabled) {
      wire.accept(socket);
      return;
    }
    const early = () => undefined;
    socket.on('error', early);
    void checkPeer(peers, socket).then(() => {
      socket.off('error', early);
      if (!socket.destroyed) wire.accept(socket);
    });
  };
  return {
    createServer: () => net.createServer(WIRE_SERVER_OPTIONS, wireAccept),
    closeServer: (server, done) => server.close(() => done()),
    closeIdle: () => wire.closeIdle(),
    cut: () => wire.destroyAll(),
    abort: () => wire.destroyAll(),
  };
}
