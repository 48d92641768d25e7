/**
 * The proxy's options (ProxyOptions, as the CLI and library callers give them), what startProxy
 * returns (RunningProxy), their defaults, and ProxySettings: the options resolved once at start
 * (defaults applied, the engine chosen, the gateway's TLS options), which every step of startProxy
 * (server.ts) reads.
 */
import type { TokenSource } from '../auth/types.js';
import type { Logger } from '../log.js';
import { displayProxy } from '../net/egress.js';
import type { ResolvedTls } from '../net/tls.js';

/**
 * `wire` (default): HTTP/1.1 on plain sockets with gatepass' strict parser (wire/), about
 * half the CPU per request; `node`: node:http in front and undici behind
 * (GATEPASS_PROXY_ENGINE=node), kept as the reference the wire engine is tested against.
 */
export type ProxyEngine = 'wire' | 'node';

export function defaultEngine(env: NodeJS.ProcessEnv = process.env): ProxyEngine {
  return env['GATEPASS_PROXY_ENGINE']?.trim().toLowerCase() === 'node' ? 'node' : 'wire';
}

export interface ProxyOptions {
  tokenSource: TokenSource;
  /** The gateway base URL; its path is kept as a prefix of every forwarded path. */
  gatewayUrl: string;
  /**
   * Gateway layout: the path under gatewayUrl where it serves each API (`setup`'s
   * anthropic/openai_path_prefix), added to requests of that dialect that do not carry it already.
   */
  pathPrefixes?: { anthropic?: string; openai?: string };
  /** 0 picks a free port. */
  port: number;
  /** Listen address; default 127.0.0.1 plus ::1 when the machine has IPv6 loopback. */
  host?: string;
  /** The per-install local proxy key clients must present. */
  localKey: string;
  logger: Logger;
  /** Provider name (for health/status). */
  providerName?: string;
  /** May the first request start an interactive login? Default true (lazy login). */
  interactive?: boolean;
  /**
   * How long a request may wait for a token, login included (ms). Default DEFAULT_TOKEN_WAIT_MS:
   * longer than any login the token sources allow, so only the source's own limits (and the
   * client's patience) end a login in progress, never this wait.
   */
  tokenWaitMs?: number;
  /**
   * A client connection idle this long is closed, and so is one whose request body stopped arriving
   * (wire engine; the node engine's keep-alive timeout is 65 s). Default 65 s.
   */
  clientTimeoutMs?: number;
  /** Time allowed to connect to the gateway (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Time allowed until the gateway sends response headers, and between body chunks (ms). Default 10 min. */
  upstreamTimeoutMs?: number;
  /** Bodies up to this size are buffered so they can be replayed after a 401. Default 10 MiB. */
  maxReplayBytes?: number;
  /** Refresh tokens this long before expiry (ms). */
  refreshSkewMs?: number;
  /** TLS options for the gateway connection (extra CA bundle, skip verification). */
  tls?: ResolvedTls;
  /** Log one line per request (debug level). Default: logger.verbose. */
  accessLog?: boolean;
  now?: () => number;
  /** Which HTTP engine serves clients; default defaultEngine(). */
  engine?: ProxyEngine;
  /**
   * Serve only connections whose client process runs as this process' user (Linux, /proc/net/tcp);
   * others get 403 on every request. Default: on wherever the platform can tell (peer-uid.ts).
   */
  peerCheck?: boolean;
  /** The background proxy's secret (state.ts NONCE_ENV): health answers control challenges with it. */
  controlNonce?: string;
  /**
   * Egress proxy the gateway is reached through (`network.proxy` / HTTPS_PROXY, already matched
   * against NO_PROXY for the gateway), e.g. `http://user:pass@proxy:3128`. The hop then runs on
   * undici's ProxyAgent (HTTP CONNECT, proxy auth, https proxies): the `node` engine serves.
   */
  egressProxy?: string;
  /** Told every error the proxy makes itself (error-log.ts writes them to proxy.log). */
  errorLog?: (method: string, url: string, status: number, message: string) => void;
  /** #20: the `/mcp/NAME` route to MCP servers (mcp-route.ts); with it the node engine serves. */
  mcp?: import('./mcp-route.js').McpRoute;
}

export interface RunningProxy {
  url: string;
  port: number;
  /** Addresses actually bound, e.g. ['127.0.0.1', '::1']. */
  addresses: string[];
  /** The HTTP engine serving clients. */
  engine: ProxyEngine;
  /** Stop accepting, let running requests finish for up to graceMs (default 5 s), then cut them. */
  close(graceMs?: number): Promise<void>;
}

const DEFAULT_MAX_REPLAY = 10 * 1024 * 1024;

/**
 * A request's default wait for a token (30 min). A lazy login may take up to the OIDC login timeout
 * (5 min) after waiting up to that plus 60 s for another process's login (`gatepass token` of a tool),
 * plus a refresh attempt first; a command provider the same with its auth.timeout (default 5 min).
 * This wait is only a backstop for a source that never answers: the request must not be cut off
 * while the user is still logging in (the CLI raises it for a command provider's longer timeout).
 */
export const DEFAULT_TOKEN_WAIT_MS = 30 * 60_000;

/** The longest a token source may legitimately take (ms) for an interactive command taking up to `timeoutMs`. */
export function loginBudgetMs(timeoutMs: number): number {
  return 2 * timeoutMs + 2 * 60_000;
}

/** The options resolved once at start: defaults applied, the engine chosen. */
export interface ProxySettings {
  options: ProxyOptions;
  gateway: URL;
  logger: Logger;
  accessLog: boolean;
  maxReplay: number;
  tokenWaitMs: number;
  upstreamTimeoutMs: number;
  connectTimeoutMs: number;
  engine: ProxyEngine;
  /** The egress proxy the gateway is reached through, if any (then the engine is `node`). */
  egress: string | undefined;
  /** TLS options for connections to the gateway (both engines). */
  gatewayTls: { rejectUnauthorized: boolean; ca?: string[] } | undefined;
  /** Provider name for health/status. */
  provider: string;
  /** The port listened on: options.port until listening picks one (server.ts). */
  port: number;
}

export function resolveSettings(options: ProxyOptions): ProxySettings {
  const gateway = new URL(options.gatewayUrl);
  const logger = options.logger;
  const requestedEngine = options.engine ?? defaultEngine();
  // Behind an egress proxy the gateway hop tunnels through undici's ProxyAgent; the wire engine's
  // own sockets do not, so the node engine serves (the proxy's round trip dwarfs the CPU it saves).
  const egress = options.egressProxy;
  const engine: ProxyEngine = egress || options.mcp ? 'node' : requestedEngine;
  if (egress && requestedEngine !== engine) {
    options.logger.debug(
      `proxy: the gateway is reached through the egress proxy ${displayProxy(egress)}: using the node engine`,
    );
  }
  return {
    options,
    gateway,
    logger,
    accessLog: options.accessLog ?? logger.verbose,
    maxReplay: options.maxReplayBytes ?? DEFAULT_MAX_REPLAY,
    tokenWaitMs: options.tokenWaitMs ?? DEFAULT_TOKEN_WAIT_MS,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 10 * 60_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    engine,
    egress,
    gatewayTls: options.tls
      ? {
          rejectUnauthorized: options.tls.rejectUnauthorized,
          ...(options.tls.ca ? { ca: options.tls.ca } : {}),
        }
      : undefined,
    provider: options.providerName ?? options.tokenSource.providerName,
    port: options.port,
  };
}
