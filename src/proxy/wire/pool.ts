/**
 * The wire engine's connections to the gateway: a LIFO pool of idle keep-alive connections (at most
 * POOL_MAX_IDLE, each for at most POOL_IDLE_MS) and the set of busy ones, with the sweep that ends
 * idle connections and gateways silent for longer than the upstream timeout. Connections themselves
 * (and their strictness) are upstream.ts'.
 */
import { type PoolHooks, type ResponseSink, Upstream, type UpstreamTarget, WireError } from './upstream.js';

export const POOL_IDLE_MS = 30_000;
export const POOL_MAX_IDLE = 128;

export class UpstreamPool implements PoolHooks {
  readonly idle: Upstream[] = [];
  readonly busy = new Set<Upstream>();
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
    u ??= new Upstream(this.target, this);
    u.assign(owner);
    this.busy.add(u);
    return u;
  }

  released(u: Upstream): void {
    this.busy.delete(u);
    if (u.dead || this.stopping || this.idle.length >= POOL_MAX_IDLE || u.socket.destroyed) {
      u.drop();
      return;
    }
    u.reused = true;
    u.last = this.now();
    this.idle.push(u);
  }

  dropped(u: Upstream): void {
    this.busy.delete(u);
    const i = this.idle.indexOf(u);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Time out silent gateways (not those paused for a slow client) and stale idle connections. */
  sweep(now: number, upstreamTimeoutMs: number): void {
    for (const u of this.busy) {
      if (u.owner && !u.pausedForClient && now - u.last >= upstreamTimeoutMs) {
        u.fault(new WireError('UND_ERR_HEADERS_TIMEOUT', 'the gateway did not answer in time'));
      }
    }
    for (const u of this.idle.filter((x) => now - x.last >= POOL_IDLE_MS)) u.drop();
  }

  get empty(): boolean {
    return this.busy.size === 0 && this.idle.length === 0;
  }

  closeIdle(): void {
    this.stopping = true;
    for (const u of this.idle.slice()) u.drop();
  }

  destroyAll(): void {
    for (const u of [...this.idle, ...this.busy]) u.drop();
  }
}
