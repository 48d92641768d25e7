/**
 * The contract between the proxy and its engines: ProxyPolicy is everything an engine (wire/, node/)
 * needs to know about gatepass (routing with the guard, token access, the errors the proxy makes, the
 * limits), so the engines hold no policy of their own. createPolicy builds it (server.ts calls it):
 * the same-user check's verdict, the guard, the health answer, the gateway path with its layout
 * prefix, token access and the proxy's own errors.
 */
import type net from 'node:net';
import type { TokenResult } from '../auth/types.js';
import { VERSION } from '../version.js';
import { detectDialect, type ErrorKind, errorBody } from './dialect.js';
import { tokenFailure, upstreamFailure } from './failures.js';
import { checkRequest, type Headers, hasLocalKey } from './guard.js';
import { upstreamPath } from './headers.js';
import type { ProxyOptions, ProxySettings } from './options.js';
import { foreignMessage, type PeerCheck } from './peer.js';
import { CONTROL_HEADER, controlProof, HEALTH_PATH } from './state.js';
import type { TokenCache } from './token-cache.js';

export type Verdict =
  | { kind: 'refuse'; message: string }
  | { kind: 'health'; body: string }
  | { kind: 'forward'; path: string };

/** What an engine needs from the proxy (createPolicy builds it; both engines use it). */
export interface ProxyPolicy {
  gateway: URL;
  /** Guard + routing for one request arriving on `socket` (whose peer may be another user's). */
  route(method: string, url: string, headers: Headers, socket: net.Socket): Verdict;
  peekToken(): TokenResult | undefined;
  getToken(): Promise<TokenResult>;
  replaceToken(old: string): Promise<TokenResult>;
  tokenWaitMs: number;
  /** The 401 message for a failed token fetch (logs the cause at debug level). */
  tokenFailure(err: unknown): string;
  /** Status, kind and message for an upstream failure before any response (logs it). */
  upstreamFailure(err: unknown): { status: number; kind: ErrorKind; message: string };
  /** The JSON error body in the client's dialect. */
  errorBody(url: string, headers: Headers, status: number, kind: ErrorKind, message: string): string;
  maxReplay: number;
  connectTimeoutMs: number;
  /** A client connection idle, or a request body stalled, this long is closed (ms). */
  clientTimeoutMs: number;
  upstreamTimeoutMs: number;
  tls?: { ca?: string[]; rejectUnauthorized: boolean };
  debug(message: string): void;
  error(message: string): void;
  /** Told every error the proxy makes itself (status, and the message with its cause). */
  errorLog?: (method: string, url: string, status: number, message: string) => void;
  /** Called once per finished request when access logging is on. */
  accessLog?: (method: string, path: string, status: number, ms: number) => void;
}

/** What both engines share: the guard, routing, token access and the errors the proxy makes. */
export function createPolicy(s: ProxySettings, tokens: TokenCache, peers: PeerCheck): ProxyPolicy {
  const { options, gateway, logger } = s;
  const foreign = peers.foreign;
  const prefix = gateway.pathname === '/' ? '' : gateway.pathname;
  return {
    gateway,
    route(method, url, headers, socket) {
      const foreignPeer = foreign.get(socket);
      if (foreignPeer !== undefined) {
        logger.debug(`proxy: refused ${method} from ${foreignPeer}`);
        return { kind: 'refuse', message: foreignMessage(foreignPeer) };
      }
      const q = url.indexOf('?');
      const pathOnly = q < 0 ? url : url.slice(0, q);
      const search = q < 0 ? undefined : url.slice(q + 1);
      const isHealth = pathOnly === HEALTH_PATH && (method === 'GET' || method === 'HEAD');
      const verdict = checkRequest(headers, search, {
        port: s.port,
        localKey: options.localKey,
        skipKey: isHealth,
      });
      if (!verdict.ok) {
        logger.debug(`proxy: refused ${method} ${pathOnly}: ${verdict.reason}`);
        return { kind: 'refuse', message: verdict.message };
      }
      if (isHealth) return { kind: 'health', body: healthBody(s, headers, search) };
      return { kind: 'forward', path: upstreamPath(prefix + layoutPrefix(options, url, headers), url) };
    },
    peekToken: () => tokens.peek(),
    getToken: () => tokens.get(),
    replaceToken: (old) => tokens.replace(old),
    tokenWaitMs: s.tokenWaitMs,
    tokenFailure: (err) => tokenFailure(logger, err),
    upstreamFailure: (err) => upstreamFailure(s, err),
    errorBody: (url, headers, status, kind, message) =>
      JSON.stringify(errorBody(detectDialect(url, headers), kind, status, message)),
    maxReplay: s.maxReplay,
    connectTimeoutMs: s.connectTimeoutMs,
    clientTimeoutMs: options.clientTimeoutMs ?? 65_000,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    ...(s.gatewayTls ? { tls: s.gatewayTls } : {}),
    debug: (m) => logger.debug(m),
    error: (m) => logger.error(m),
    ...(options.errorLog ? { errorLog: options.errorLog } : {}),
    ...(s.accessLog
      ? {
          accessLog: (method: string, path: string, status: number, ms: number) =>
            logger.debug(`proxy: ${method} ${path} ${status} ${ms.toFixed(1)}ms`),
        }
      : {}),
  };
}

/**
 * Gateway layout: the path prefix (`setup`'s anthropic/openai_path_prefix) to add to a request of
 * that dialect that does not carry it already.
 */
function layoutPrefix(options: ProxyOptions, url: string, headers: Headers): string {
  const layout = options.pathPrefixes;
  if (!layout?.anthropic && !layout?.openai) return '';
  const dialect = detectDialect(url, headers);
  const p = dialect === 'anthropic' ? layout.anthropic : dialect === 'openai' ? layout.openai : undefined;
  if (!p) return '';
  const path = url.split('?')[0]!;
  return path === p || path.startsWith(`${p}/`) ? '' : p;
}

/**
 * The health answer: no secret, and the pid only to a client holding the local key; a control
 * challenge (from `proxy stop|status`) gets its proof when this proxy was given a nonce.
 */
function healthBody(s: ProxySettings, headers: Headers, search: string | undefined): string {
  const options = s.options;
  const challenge = headers[CONTROL_HEADER];
  const proof =
    options.controlNonce && typeof challenge === 'string' && /^[0-9a-f]{16,128}$/.test(challenge)
      ? controlProof(options.controlNonce, challenge, process.pid)
      : undefined;
  const withKey = hasLocalKey(headers, search, options.localKey);
  return JSON.stringify({
    ok: true,
    version: VERSION,
    provider: s.provider,
    engine: s.engine,
    ...(withKey ? { pid: process.pid } : {}),
    ...(proof ? { proof } : {}),
  });
}
