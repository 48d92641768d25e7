/**
 * The wire engine's timeouts: one interval timer per engine (not a timer per socket), running while
 * there are clients or upstream connections. It refreshes the engine's coarse clock and closes idle
 * clients, slow request heads, stalled request bodies and (through the pool) silent gateways.
 */
import { type EngineState, HEADERS_TIMEOUT_MS, Phase } from './state.js';

export function ensureSweeper(st: EngineState): void {
  if (st.sweeper) return;
  st.clock = Date.now();
  st.sweeper = setInterval(sweep, st.tick, st);
  st.sweeper.unref();
}

function sweep(st: EngineState): void {
  const now = Date.now();
  st.clock = now;
  const clientIdleMs = st.clientIdleMs;
  const tick = st.tick;
  for (const c of st.clients) {
    if (c.closed) {
      // Answered and closed on our side; a client that never closes its side is cut after a while.
      if (now - c.last >= clientIdleMs + tick) c.socket.destroy();
      continue;
    }
    const ex = c.queue[0];
    if (ex) {
      // A request whose body stopped arriving (being forwarded, or read to be dropped); not one
      // whose client is paused because the gateway is slow to take it.
      const stalled =
        ex.phase === Phase.Body ||
        (ex.phase === Phase.Upstream && !ex.bodyDone && !ex.responseStarted && !c.socket.isPaused());
      if (stalled && now - c.last >= clientIdleMs + tick) c.socket.destroy();
      continue;
    }
    if (now - c.last >= clientIdleMs + tick) c.socket.destroy();
    else if (c.headStart && now - c.headStart >= HEADERS_TIMEOUT_MS + tick) c.socket.destroy();
  }
  st.pool.sweep(now, st.policy.upstreamTimeoutMs + tick);
  if (!st.clients.size && st.pool.empty) {
    clearInterval(st.sweeper);
    st.sweeper = undefined;
  }
}

/** Stop the sweeper now (the engine is destroyed). */
export function stopSweeper(st: EngineState): void {
  if (st.sweeper) clearInterval(st.sweeper);
  st.sweeper = undefined;
}
