/**
 * The wire engine's state, one per engine, passed explicitly to the functions of forward.ts,
 * respond.ts and sweeper.ts (no closure per request): the policy, the client connections, the
 * upstream pool, the stop flag and the coarse clock the sweeper refreshes. Also the exchange's
 * Phase and the constants the modules share.
 */
import type { ProxyPolicy } from '../policy.js';
import type { Client } from './client.js';
import { UpstreamPool } from './pool.js';
import { WireError } from './upstream.js';

export enum Phase {
  Queued,
  Body, // reading a body that is dropped before the answer (a refused request)
  Token, // waiting for a token (login)
  Upstream, // sent; the answer is coming
  Done,
}

export const HEADERS_TIMEOUT_MS = 60_000;
/** Streamed request bodies: stop reading the client while this much waits for the gateway. */
export const STREAM_BUFFER_MAX = 256 * 1024;
export const CRLF = Buffer.from('\r\n');
/** The size line of a chunk of `n` bytes (chunked framing: hex size, CRLF). */
export function chunkSizeLine(n: number): string {
  return `${n.toString(16)}\r\n`;
}
/** Writes up to this size are gathered into one buffer; larger ones go out as a writev. */
export const SMALL_WRITE = 16 * 1024;

export const GONE = new WireError('E_CLIENT_GONE', 'client went away');

export class EngineState {
  /** `host: <gateway>\r\n`, as the request heads for the gateway carry it (heads-out.ts). */
  readonly hostLine: Buffer;
  readonly clients = new Set<Client>();
  stopping = false;
  readonly clientIdleMs: number;
  /** The sweeper's period (ms). */
  readonly tick: number;
  /** Activity stamps use `clock`, refreshed by the sweeper, so the hot path never reads the time. */
  clock = Date.now();
  readonly pool: UpstreamPool;
  sweeper: NodeJS.Timeout | undefined;

  constructor(readonly policy: ProxyPolicy) {
    const gw = policy.gateway;
    const secure = gw.protocol === 'https:';
    const gwPort = Number(gw.port) || (secure ? 443 : 80);
    const gwHostname = gw.hostname.startsWith('[') ? gw.hostname.slice(1, -1) : gw.hostname;
    this.hostLine = Buffer.from(`host: ${gw.host}\r\n`, 'latin1');
    this.clientIdleMs = policy.clientTimeoutMs;
    this.tick = Math.max(
      25,
      Math.min(1000, Math.floor(policy.upstreamTimeoutMs / 4), Math.floor(this.clientIdleMs / 4)),
    );
    this.pool = new UpstreamPool(
      {
        secure,
        host: gwHostname,
        port: gwPort,
        tls: policy.tls,
        connectTimeoutMs: policy.connectTimeoutMs,
      },
      () => this.clock,
    );
  }
}
