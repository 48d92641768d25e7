/**
 * The wire engine's connections to the gateway: a LIFO pool of idle keep-alive connections (at most
 * POOL_MAX_IDLE, each for at most POOL_IDLE_MS) among every open connection, with the sweep that
 * ends idle connections and gateways silent for longer than the upstream timeout. A connection is
 * busy while it has an owner: no set of busy ones to add to and delete from on every request (a
 * Set shrinking and growing again as the busy count moves cost more than the rest of the pool).
 * Connections themselves (and their strictness) are upstream.ts'.
 */
import { type PoolHooks, type ResponseSink, Upstream, type UpstreamTarget, WireError } from './upstream.js';

export const POOL_IDLE_MS = 30_000;
export const POOL_MAX_IDLE = 128;

export class UpstreamPool implements PoolHooks {
  readonly idle: Upstream[] = [];
  /** Every open connection, busy (it has an owner) or idle; one leaves when it is dropped. */
  readonly open: Upstream[] = [];
  /** Closing: released connections are not kept. */
  stopping = false;

  constructor(
    private readonly target: UpstreamTarget,
    /** The engine's coarse clock (ms). */
    readonly now: () => number,
  ) {}

  /** A connection for `owner`: the most recently used idle one still fresh, or a new one. */
  acquire(owner: ResponseSink): Upstream {
    let u: Upstream | undefined;
    const now = this.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.dead && !c.socket.destroyed && now - c.last < POOL_IDLE_MS) {
        u = c;
        break;
      }
      c.drop();
    }
    if (u === undefined) {
      u = new Upstream(this.target, this);
      this.open.push(u);
    }
    u.assign(owner);
    return u;
  }

  released(u: Upstream): void {
    if (u.dead || this.stopping || this.idle.length >= POOL_MAX_IDLE || u.socket.destroyed) {
      u.drop();
      return;
    }
    u.reused = true;
    u.last = this.now();
    this.idle.push(u);
  }

  dropped(u: Upstream): void {
    const o = this.open.indexOf(u);
    if (o >= 0) this.open.splice(o, 1);
    const i = this.idle.indexOf(u);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Connections serving a request now. */
  get busy(): number {
    let n = 0;
    for (const u of this.open) if (u.owner) n++;
    return n;
  }

  /** Time out silent gateways (not those paused for a slow client) and stale idle connections. */
  sweep(now: number, upstreamTimeoutMs: number): void {
    for (const u of this.open.slice()) {
      if (u.owner && !u.pausedForClient && now - u.last >= upstreamTimeoutMs) {
        u.fault(new WireError('UND_ERR_HEADERS_TIMEOUT', 'the gateway did not answer in time'));
      }
    }
    for (const u of this.idle.filter((x) => now - x.last >= POOL_IDLE_MS)) u.drop();
  }

  get empty(): boolean {
    return this.open.length === 0;
  }

  closeIdle(): void {
    this.stopping = true;
    for (const u of this.idle.slice()) u.drop();
  }

  destroyAll(): void {
    for (const u of this.open.slice()) u.drop();
  }
}
