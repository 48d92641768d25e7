/**
 * The proxy's fast engine: HTTP/1.1 on plain sockets with the strict parser in wire/http1.ts, without
 * node:http's and undici's per-request layers (IncomingMessage, ServerResponse, Request validation,
 * stream plumbing, a timer per socket), which cost more than half the proxy's CPU per request
 * (bench/README.md). Same behaviour as the node:http engine (node/, GATEPASS_PROXY_ENGINE=node):
 * - malformed or ambiguous requests (the request-smuggling cases) → 400 and the connection closes;
 * - every request body streams to the gateway as it arrives; one with a known length up to
 *   maxReplay is also recorded (tee) so it can be replayed after a 401 (read from the client at its
 *   own pace: the recording holds it anyway), others are not (read at the gateway's pace);
 * - the gateway's answer is re-framed for the client (hop-by-hop headers dropped; a chunked body
 *   passed on with its own chunk framing as it arrives, one write per read, never buffered or
 *   copied; an unsized one chunked: size line, data and CRLF in one corked write, a writev), the
 *   client's pace slowing the gateway;
 * - a client that goes away destroys its upstream connection; an upstream failure before the answer
 *   is a 502/504 JSON error, after it the client's connection is cut (no silent truncation);
 * - upstream connections (upstream.ts: as strict with the gateway as client.ts is with clients)
 *   are kept alive in a small pool (pool.ts); a pooled connection the gateway closed
 *   before answering is retried on a fresh one when the request is replayable; to a plain-HTTP
 *   gateway they read with `onread` into one shared buffer, not through a Readable stream; and so
 *   do client connections (adopt.ts), whose heads and bodies are copied out when kept;
 * - a refused request is answered as soon as its head is parsed (its body is read and dropped);
 * - timeouts (idle client, slow request head, stalled request body, gateway silent) are checked by
 *   one sweeper per engine, not a timer per socket.
 *
 * This file builds the engine (its state, state.ts) and serves accepted sockets; the modules beside
 * it: client.ts (a client connection and its request parser) + adopt.ts (its reads with onread), exchange.ts + forward.ts (one request
 * on its way to the gateway), respond.ts (what goes back to the client), upstream.ts + pool.ts (the
 * gateway side and its response reader) + read-buffer.ts (the buffer client and plain-HTTP gateway
 * connections share for their reads), sweeper.ts (timeouts), http1.ts + http1-head.ts + http1-message.ts (the
 * parser), heads-out.ts (the heads written, as bytes).
 */
import type net from 'node:net';
import type { ProxyPolicy } from '../policy.js';
import { Client } from './client.js';
import { EngineState } from './state.js';
import { ensureSweeper, stopSweeper } from './sweeper.js';

export interface WireEngine {
  /** Serve one accepted client socket. */
  accept(socket: net.Socket): void;
  /** Stop: idle client connections close now, busy ones after their current exchange. */
  closeIdle(): void;
  destroyAll(): void;
}

export function createWireEngine(policy: ProxyPolicy): WireEngine {
  const st = new EngineState(policy);
  return {
    accept(socket) {
      if (st.stopping) {
        socket.destroy();
        return;
      }
      st.clients.add(new Client(st, socket));
      ensureSweeper(st);
    },
    closeIdle() {
      st.stopping = true;
      for (const c of st.clients) if (c.queue.length === 0) c.socket.end();
      st.pool.closeIdle();
    },
    destroyAll() {
      for (const c of st.clients) c.socket.destroy();
      st.pool.destroyAll();
      stopSweeper(st);
    },
  };
}
