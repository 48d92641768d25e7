/**
 * The loopback reverse proxy: startProxy composes it from named steps. The engine serving clients
 * is the wire engine (wire/: HTTP/1.1 on plain sockets with gatepass' strict parser) or the node
 * engine (node/: node:http in front, a keep-alive undici Pool behind, or undici's ProxyAgent
 * tunnelling through the egress proxy when one applies to the gateway). Both take their policy
 * (policy.ts: the same-user check, the guard, routing, token access, the proxy's own errors) from
 * here. Bodies stream both ways (SSE and chunked responses are never buffered); a client that goes
 * away aborts the upstream request; upstream statuses and bodies pass through unchanged. Only errors
 * the proxy itself makes (guard 403, token 401, unreachable 502, timeout 504) are written by
 * gatepass, as JSON in the client's API dialect.
 */
import type net from 'node:net';
import type { Dispatcher } from 'undici';
import { registerSecret } from '../redact.js';
import { type Front, wireFront } from './front.js';
import { createIdleCollector, type IdleCollector } from './idle-gc.js';
import { listenAll } from './listen.js';
import { gatewayDispatcher } from './node/dispatcher.js';
import { type ProxyOptions, type ProxySettings, type RunningProxy, resolveSettings } from './options.js';
import { createPeerCheck, type PeerCheck } from './peer.js';
import { createPolicy } from './policy.js';
import { createTokenCache, type TokenCache } from './token-cache.js';
import { createWireEngine } from './wire/index.js';

export {
  DEFAULT_TOKEN_WAIT_MS,
  defaultEngine,
  loginBudgetMs,
  type ProxyEngine,
  type ProxyOptions,
  type RunningProxy,
} from './options.js';

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const s = resolveSettings(options);
  registerSecret(options.localKey);
  const pool = await gatewayDispatcher(s); // node engine only
  const tokens = startTokenCache(s);
  const peers = createPeerCheck(options, s.logger);
  const idleGc = createIdleCollector(); // memory of a burst of connections back once idle
  const front = await createFront(s, tokens, pool, peers, idleGc);
  const servers: net.Server[] = [];
  let addresses: string[];
  try {
    addresses = await listenAll(s, front, servers, peers.ownUid);
  } catch (err) {
    await pool?.close();
    front.abort();
    tokens.close();
    idleGc.stop();
    throw err;
  }
  return running(s, { servers, addresses, front, tokens, pool, idleGc });
}

function startTokenCache(s: ProxySettings): TokenCache {
  const options = s.options;
  return createTokenCache({
    source: options.tokenSource,
    logger: s.logger,
    interactive: options.interactive ?? true,
    ...(options.refreshSkewMs !== undefined ? { refreshSkewMs: options.refreshSkewMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

/** The policy both engines share, and the engine chosen (resolveSettings) in front of the sockets. */
async function createFront(
  s: ProxySettings,
  tokens: TokenCache,
  pool: Dispatcher | undefined,
  peers: PeerCheck,
  idleGc: IdleCollector,
): Promise<Front> {
  const policy = createPolicy(s, tokens, peers);
  const front =
    s.engine === 'wire'
      ? wireFront(createWireEngine(policy), peers)
      : (await import('./node/front.js')).nodeFront({ s, policy, tokens, pool: pool!, peers });
  return { ...front, createServer: () => front.createServer().on('connection', idleGc.track) };
}

interface Listening {
  servers: net.Server[];
  addresses: string[];
  front: Front;
  tokens: TokenCache;
  pool: Dispatcher | undefined;
  idleGc: IdleCollector;
}

/** The running proxy: its address, and close() (stop accepting, a grace period, then cut). */
function running(s: ProxySettings, l: Listening): RunningProxy {
  const { servers, addresses, front, tokens, pool, idleGc } = l;
  const port = s.port;
  const first = addresses[0]!;
  const urlHost = first.includes(':') ? `[${first}]` : first;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    addresses,
    engine: s.engine,
    close(graceMs = 5_000) {
      closed ??= (async () => {
        tokens.close();
        idleGc.stop();
        const cut = setTimeout(() => front.cut(servers), graceMs);
        await Promise.all(
          servers.map((srv) => new Promise<void>((resolve) => front.closeServer(srv, resolve))),
        );
        clearTimeout(cut);
        await pool?.close().catch(() => undefined);
      })();
      front.closeIdle();
      return closed;
    },
  };
}
