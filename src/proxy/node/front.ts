/**
 * The node engine's front (GATEPASS_PROXY_ENGINE=node): node:http with the same-user check started
 * on each connection. Its own module so the default wire engine never loads node:http or the node
 * engine's handler (server.ts imports this only for the node engine).
 */
import http from 'node:http';
import type net from 'node:net';
import type { Front } from '../front.js';
import { checkPeer } from '../peer.js';
import { createRequestListener, type NodeEngine } from './handler.js';

export function nodeFront(n: NodeEngine): Front {
  const onRequest = createRequestListener(n);
  const peers = n.peers;
  return {
    createServer() {
      const h = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
      h.headersTimeout = 60_000;
      if (peers.enabled) {
        h.on('connection', (socket: net.Socket) => {
          const p = checkPeer(peers, socket).then(() => {
            peers.pending.delete(socket);
          });
          peers.pending.set(socket, p);
        });
      }
      return h;
    },
    closeServer(server, done) {
      server.close(() => done());
      (server as http.Server).closeIdleConnections();
    },
    closeIdle: () => undefined,
    cut: (servers) => {
      for (const s of servers) (s as http.Server).closeAllConnections();
    },
    abort: () => undefined,
  };
}
