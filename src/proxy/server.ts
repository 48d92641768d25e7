/**
 * The loopback reverse proxy: node:http in front, a keep-alive undici Pool to the gateway behind
 * (a ProxyAgent tunnelling through the egress proxy when one applies to the gateway).
 * Bodies stream both ways (SSE and chunked responses are never buffered); a client that goes away
 * aborts the upstream request; upstream statuses and bodies pass through unchanged. Only errors the
 * proxy itself makes (guard 403, token 401, unreachable 502, timeout 504) are written here, as JSON
 * in the client's API dialect.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TokenResult, TokenSource } from '../auth/types.js';
import { describeError, GatepassError, ProxyError } from '../errors.js';
import type { Logger } from '../log.js';
import { displayProxy, egressFailureReason } from '../net/egress.js';
import { describeUid, listenerUid, peerCheckAvailable, peerUid } from '../net/peer-uid.js';
import { type ResolvedTls, tlsErrorCode, tlsHint } from '../net/tls.js';
import { registerSecret } from '../redact.js';
import { VERSION } from '../version.js';
import { detectDialect, type ErrorKind, errorBody } from './dialect.js';
import { checkRequest, hasLocalKey } from './guard.js';
import { downstreamRawHeaders, upstreamPath, upstreamRequestHeaders } from './headers.js';
import { createIdleCollector } from './idle-gc.js';
import { CONTROL_HEADER, controlProof, HEALTH_PATH } from './state.js';
import { createTokenCache } from './token-cache.js';
import { createWireEngine, type ProxyPolicy, tokenWithin, type WireEngine } from './wire.js';

/**
 * `wire` (default): HTTP/1.1 on plain sockets with gatepass' strict parser (wire.ts, http1.ts), about
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

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

/**
 * A replayable request body (known length within the replay bound), forwarded as it arrives and
 * recorded meanwhile. open() gives the stream for one attempt: the bytes recorded so far, then the
 * rest as it arrives; a replay after a 401 opens a new one (the previous stream stops taking
 * bytes, the record goes on).
 */
class BodyTee {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private out: PassThrough | undefined;

  constructor(
    private readonly req: IncomingMessage,
    limit: number,
  ) {
    req.on('data', (c: Buffer) => {
      this.size += c.length;
      if (this.size > limit) {
        this.out?.destroy(new ProxyError('E_PROXY', 'request body larger than announced'));
        req.destroy();
        return;
      }
      this.chunks.push(c);
      const s = this.out;
      if (s && !s.destroyed && !s.write(c)) req.pause(); // resumed on drain (or close)
    });
    req.on('end', () => {
      this.ended = true;
      this.out?.end();
    });
    req.on('aborted', () => this.out?.destroy(new ProxyError('E_PROXY', 'client aborted')));
  }

  open(): PassThrough {
    this.close();
    const s = new PassThrough();
    s.on('error', () => undefined); // a client gone: the forward's own failure reports it
    s.on('drain', () => this.req.resume());
    s.on('close', () => this.req.resume());
    for (const c of this.chunks) s.write(c);
    if (this.ended) s.end();
    this.out = s;
    return s;
  }

  /** The current stream takes no more bytes (an answer came, or the client left). */
  close(): void {
    this.out?.destroy();
    this.out = undefined;
  }
}

function foreignMessage(who: string): string {
  return `gatepass proxy: refused a connection from ${who}: the proxy serves only the user who started it`;
}

function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'E_PROXY') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);

class ClientGone extends Error {}

/**
 * undici, loaded on demand. Bundled, a CommonJS package imported dynamically has only a default
 * export (esbuild's chunk): take the named exports from it then.
 */
async function loadUndici(): Promise<typeof import('undici')> {
  const m = (await import('undici')) as typeof import('undici') & { default?: typeof import('undici') };
  return typeof m.Pool === 'function' ? m : m.default!;
}

/**
 * Send one request upstream and stream the answer into `res`, on undici's low-level handler
 * interface (no intermediate streams): gateway backpressure follows the client's, a client that
 * leaves aborts the upstream request. Resolves true when a 401 was swallowed for a retry.
 */
function forward(
  pool: Dispatcher,
  options: Dispatcher.DispatchOptions,
  res: ServerResponse,
  swallow401: boolean,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let abort: ((err: Error) => void) | undefined;
    let swallowed = false;
    let gone = false;
    const onClose = () => {
      if (res.writableFinished) return;
      gone = true;
      abort?.(new ClientGone('client went away'));
    };
    res.once('close', onClose);
    const done = () => res.off('close', onClose);
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        if (gone || res.destroyed) a(new ClientGone('client went away'));
        else abort = a;
      },
      onHeaders(statusCode, rawHeaders, resume) {
        if (statusCode < 200) return true; // 1xx: the client gets the final answer only
        if (statusCode === 401 && swallow401) {
          swallowed = true;
          return true;
        }
        const { headers, sized } = downstreamRawHeaders(rawHeaders as unknown as Buffer[]);
        res.writeHead(statusCode, headers);
        // A streamed response (SSE, chunked) may take a while to produce its first event: send the
        // headers now. A sized body is corked until the end of this tick, so a small response (the
        // common case) leaves in one write with its headers.
        if (sized) {
          res.cork();
          process.nextTick(() => res.uncork());
        } else {
          res.flushHeaders();
        }
        res.on('drain', resume);
        return !res.writableNeedDrain;
      },
      onData(chunk) {
        return swallowed ? true : res.write(chunk);
      },
      onComplete() {
        done();
        if (!swallowed) res.end();
        resolve(swallowed);
      },
      onError(err) {
        done();
        reject(err);
      },
    };
    pool.dispatch(options, handler);
  });
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const gateway = new URL(options.gatewayUrl);
  registerSecret(options.localKey);
  const prefix = gateway.pathname === '/' ? '' : gateway.pathname;
  const layoutPrefix = (url: string, headers: IncomingMessage['headers']): string => {
    const layout = options.pathPrefixes;
    if (!layout?.anthropic && !layout?.openai) return '';
    const dialect = detectDialect(url, headers);
    const p = dialect === 'anthropic' ? layout.anthropic : dialect === 'openai' ? layout.openai : undefined;
    if (!p) return '';
    const path = url.split('?')[0]!;
    return path === p || path.startsWith(`${p}/`) ? '' : p;
  };
  const logger = options.logger;
  const accessLog = options.accessLog ?? logger.verbose;
  const maxReplay = options.maxReplayBytes ?? DEFAULT_MAX_REPLAY;
  const tokenWaitMs = options.tokenWaitMs ?? DEFAULT_TOKEN_WAIT_MS;
  const upstreamTimeout = options.upstreamTimeoutMs ?? 10 * 60_000;
  const origin = gateway.origin;
  const requestedEngine = options.engine ?? defaultEngine();
  // Behind an egress proxy the gateway hop tunnels through undici's ProxyAgent; the wire engine's
  // own sockets do not, so the node engine serves (the proxy's round trip dwarfs the CPU it saves).
  const egress = options.egressProxy;
  const engine: ProxyEngine = egress ? 'node' : requestedEngine;
  if (egress && requestedEngine !== engine) {
    options.logger.debug(
      `proxy: the gateway is reached through the egress proxy ${displayProxy(egress)}: using the node engine`,
    );
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  /** TLS options for connections to the gateway (both engines). */
  const gatewayTls = options.tls
    ? {
        rejectUnauthorized: options.tls.rejectUnauthorized,
        ...(options.tls.ca ? { ca: options.tls.ca } : {}),
      }
    : undefined;
  const poolOptions = {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: upstreamTimeout,
    bodyTimeout: upstreamTimeout,
  };
  // undici (about 1 MB of code, several MiB of RSS) loads only for the node engine: the wire
  // engine's idle proxy does not carry it.
  const pool: Dispatcher | undefined =
    engine === 'wire'
      ? undefined
      : egress
        ? (await import('../net/tls-fetch.js')).egressAgent(egress, options.tls, {
            ...poolOptions,
            connectTimeoutMs,
          })
        : new (await loadUndici()).Pool(origin, {
            ...poolOptions,
            connect: { timeout: connectTimeoutMs, ...gatewayTls },
          });
  const tokens = createTokenCache({
    source: options.tokenSource,
    logger,
    interactive: options.interactive ?? true,
    ...(options.refreshSkewMs !== undefined ? { refreshSkewMs: options.refreshSkewMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  let port = options.port;
  const provider = options.providerName ?? options.tokenSource.providerName;
  const ownUid = process.getuid?.();
  const peerCheck = (options.peerCheck ?? peerCheckAvailable()) && ownUid !== undefined;
  if (!peerCheck) {
    logger.debug(
      'proxy: same-user check off (no /proc/net/tcp here, or turned off): any local user with the key is served',
    );
  }
  /** Connections of other users (or of no user /proc could name): every request gets 403. */
  const foreign = new WeakMap<net.Socket, string>();

  /**
   * The health answer: no secret, and the pid only to a client holding the local key; a control
   * challenge (from `proxy stop|status`) gets its proof when this proxy was given a nonce.
   */
  const healthBody = (headers: IncomingMessage['headers'], search: string | undefined) => {
    const challenge = headers[CONTROL_HEADER];
    const proof =
      options.controlNonce && typeof challenge === 'string' && /^[0-9a-f]{16,128}$/.test(challenge)
        ? controlProof(options.controlNonce, challenge, process.pid)
        : undefined;
    const withKey = hasLocalKey(headers, search, options.localKey);
    return JSON.stringify({
      ok: true,
      version: VERSION,
      provider,
      engine,
      ...(withKey ? { pid: process.pid } : {}),
      ...(proof ? { proof } : {}),
    });
  };

  /** What both engines share: the guard, routing, token access and the errors the proxy makes. */
  const policy: ProxyPolicy = {
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
      const verdict = checkRequest(headers, search, { port, localKey: options.localKey, skipKey: isHealth });
      if (!verdict.ok) {
        logger.debug(`proxy: refused ${method} ${pathOnly}: ${verdict.reason}`);
        return { kind: 'refuse', message: verdict.message };
      }
      if (isHealth) return { kind: 'health', body: healthBody(headers, search) };
      return { kind: 'forward', path: upstreamPath(prefix + layoutPrefix(url, headers), url) };
    },
    peekToken: () => tokens.peek(),
    getToken: () => tokens.get(),
    replaceToken: (old) => tokens.replace(old),
    tokenWaitMs,
    tokenFailure(err) {
      const code = err instanceof GatepassError ? err.code : undefined;
      logger.debug(`proxy: no token: ${code ?? ''} ${describeError(err)}`);
      return code === 'E_AUTH_TIMEOUT'
        ? 'gatepass: timed out obtaining a gateway token (is a login waiting in the browser?). Run `gatepass login`.'
        : `gatepass: no gateway token available (${describeError(err)}). Run \`gatepass login\`.`;
    },
    upstreamFailure(err) {
      const code = errorCodeOf(err);
      const tlsCode = tlsErrorCode(err);
      if (tlsCode) {
        // Worth a warning in the proxy's own output: every request will fail the same way.
        logger.warn(
          `proxy: TLS certificate verification failed for the gateway at ${gateway.origin} (${tlsCode}); ${tlsHint()}`,
        );
        return {
          status: 502,
          kind: 'bad_gateway',
          message: `gatepass proxy: TLS certificate verification failed for the gateway at ${gateway.origin} (${tlsCode}); set tls.ca_file with \`gatepass config set --ca-file /path/to/ca.pem\``,
        };
      }
      if (code === 'E_UPSTREAM_PROTOCOL') {
        logger.debug(`proxy: ${describeError(err)}`);
        return {
          status: 502,
          kind: 'bad_gateway',
          message: `gatepass proxy: the gateway at ${gateway.origin} ${(err as Error).message.replace(/^the gateway /, '')}`,
        };
      }
      if (code && TIMEOUT_CODES.has(code)) {
        return {
          status: 504,
          kind: 'timeout',
          message: `gatepass proxy: the gateway did not answer in time (${code})`,
        };
      }
      logger.debug(`proxy: gateway unreachable: ${code ?? ''} ${describeError(err)}`);
      if (egress) {
        return {
          status: 502,
          kind: 'bad_gateway',
          message: `gatepass proxy: could not reach the gateway at ${gateway.origin} through the proxy ${displayProxy(egress)} (${egressFailureReason(err)})`,
        };
      }
      return {
        status: 502,
        kind: 'bad_gateway',
        message: `gatepass proxy: could not reach the gateway at ${gateway.origin} (${code ?? 'error'})`,
      };
    },
    errorBody: (url, headers, status, kind, message) =>
      JSON.stringify(errorBody(detectDialect(url, headers), kind, status, message)),
    maxReplay,
    connectTimeoutMs,
    clientTimeoutMs: options.clientTimeoutMs ?? 65_000,
    upstreamTimeoutMs: upstreamTimeout,
    ...(gatewayTls ? { tls: gatewayTls } : {}),
    debug: (m) => logger.debug(m),
    error: (m) => logger.error(m),
    ...(options.errorLog ? { errorLog: options.errorLog } : {}),
    ...(accessLog
      ? {
          accessLog: (method: string, path: string, status: number, ms: number) =>
            logger.debug(`proxy: ${method} ${path} ${status} ${ms.toFixed(1)}ms`),
        }
      : {}),
  };

  function sendError(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    kind: ErrorKind,
    message: string,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    options.errorLog?.(req.method ?? 'GET', req.url ?? '/', status, message);
    const body = policy.errorBody(req.url ?? '/', req.headers, status, kind, message);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  /** Wait for a token, but never longer than tokenWaitMs nor after the client left. */
  function waitForToken(res: ServerResponse, get: () => Promise<TokenResult>): Promise<TokenResult> {
    return tokenWithin(res, get, tokenWaitMs, () => new ClientGone('client went away'));
  }

  /** The node:http engine's request handler. */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const peer = pendingPeers.get(req.socket);
    if (peer) await peer;
    const verdict = policy.route(req.method ?? 'GET', url, req.headers, req.socket);
    if (verdict.kind === 'refuse') {
      req.resume();
      sendError(req, res, 403, 'forbidden', verdict.message);
      return;
    }
    if (verdict.kind === 'health') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : verdict.body);
      return;
    }

    // Small bodies with a known length are buffered so the request can be replayed after a 401.
    const method = req.method ?? 'GET';
    const lenHeader = req.headers['content-length'];
    const length = lenHeader === undefined ? undefined : Number(lenHeader);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    let body: Buffer | PassThrough | null = null;
    let replayable = true;
    /** A replayable body, streamed while recorded: a replay opens it again. */
    let tee: BodyTee | undefined;
    if (!chunked && (length === undefined || length === 0)) {
      req.resume();
    } else if (!chunked && length !== undefined && Number.isFinite(length) && length <= maxReplay) {
      const t = new BodyTee(req, length);
      tee = t;
      body = t.open();
      // Answered (or gone): the stream stops taking bytes (the rest of the body is read and dropped).
      res.once('close', () => t.close());
    } else {
      // Stream through a PassThrough: undici destroys the body on error, and destroying the
      // IncomingMessage itself would kill the socket before we could answer 502.
      replayable = false;
      const pt = new PassThrough();
      req.pipe(pt);
      pt.on('close', () => {
        req.unpipe(pt);
        req.resume();
      });
      body = pt;
    }

    let token: TokenResult;
    const cached = tokens.peek();
    if (cached) token = cached;
    else {
      try {
        token = await waitForToken(res, () => tokens.get());
      } catch (err) {
        if (!(err instanceof ClientGone)) sendError(req, res, 401, 'auth', policy.tokenFailure(err));
        return;
      }
    }

    const path = verdict.path;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && tee) body = tee.open();
      const headers = upstreamRequestHeaders(req.headers, {
        token: token.token,
        keepContentLength: !(body instanceof Buffer) && !chunked,
      });
      let retry: boolean;
      try {
        retry = await forward(
          pool!,
          { origin, path, method, headers, body },
          res,
          attempt === 0 && replayable,
        );
      } catch (err) {
        if (err instanceof ClientGone || res.destroyed) return;
        if (res.headersSent) {
          logger.debug(`proxy: upstream failed mid-response (${errorCodeOf(err) ?? describeError(err)})`);
          res.destroy();
          return;
        }
        const f = policy.upstreamFailure(err);
        sendError(req, res, f.status, f.kind, f.message);
        return;
      }
      if (!retry) return;
      logger.debug('proxy: gateway answered 401; refreshing the token and retrying once');
      try {
        token = await waitForToken(res, () => tokens.replace(token.token));
      } catch (err) {
        if (!(err instanceof ClientGone)) sendError(req, res, 401, 'auth', policy.tokenFailure(err));
        return;
      }
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = accessLog ? performance.now() : 0;
    if (accessLog) {
      res.once('close', () => {
        const path = (req.url ?? '/').split('?')[0];
        const ms = (performance.now() - started).toFixed(1);
        const status = res.headersSent ? res.statusCode : 499;
        logger.debug(`proxy: ${req.method} ${path} ${status} ${ms}ms`);
      });
    }
    handle(req, res).catch((err: unknown) => {
      logger.error(`proxy: internal error: ${describeError(err)}`);
      if (!res.headersSent) sendError(req, res, 500, 'internal', 'gatepass proxy: internal error');
      else res.destroy();
    });
  };

  const wire: WireEngine | undefined = engine === 'wire' ? createWireEngine(policy) : undefined;
  const servers: net.Server[] = [];
  const idleGc = createIdleCollector(); // memory of a burst of connections back once idle
  const addresses: string[] = [];
  /** Look the client's user up (once per connection); foreign connections are marked for 403. */
  const checkPeer = (socket: net.Socket): Promise<void> =>
    peerUid(socket).then(
      (uid) => {
        if (uid !== ownUid) foreign.set(socket, uid === undefined ? 'an unknown user' : describeUid(uid));
      },
      () => {
        foreign.set(socket, 'an unknown user');
      },
    );
  /** Node engine: connections whose lookup is still running (their first request waits for it). */
  const pendingPeers = new WeakMap<net.Socket, Promise<void>>();
  const wireAccept = (socket: net.Socket) => {
    if (!peerCheck) {
      wire!.accept(socket);
      return;
    }
    const early = () => undefined;
    socket.on('error', early);
    void checkPeer(socket).then(() => {
      socket.off('error', early);
      if (!socket.destroyed) wire!.accept(socket);
    });
  };
  const makeServer = () => {
    let s: net.Server;
    if (wire) s = net.createServer({ allowHalfOpen: true, noDelay: true }, wireAccept);
    else {
      const h = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
      h.headersTimeout = 60_000;
      if (peerCheck) {
        h.on('connection', (socket: net.Socket) => {
          const p = checkPeer(socket).then(() => {
            pendingPeers.delete(socket);
          });
          pendingPeers.set(socket, p);
        });
      }
      s = h;
    }
    s.on('connection', idleGc.track);
    servers.push(s);
    return s;
  };

  const hosts = options.host ? [options.host] : ['127.0.0.1', '::1'];
  try {
    for (const [i, host] of hosts.entries()) {
      const s = makeServer();
      try {
        port = await listen(s, port, host);
        addresses.push(host);
      } catch (err) {
        servers.pop();
        const code = (err as NodeJS.ErrnoException).code;
        const holder = code === 'EADDRINUSE' && ownUid !== undefined ? listenerUid(host, port) : undefined;
        if (holder !== undefined && holder !== ownUid) {
          // Another user's listener would collect the local key from the tools' requests.
          throw new ProxyError(
            'E_PORT_IN_USE',
            `port ${port} on ${host} is held by another user: ${describeUid(holder)}`,
            {
              hint: 'tools would send your local proxy key to that process; find it with `ss -ltnp` (as root), or choose another port with --port',
            },
          );
        }
        if (i > 0) {
          // ::1 is a bonus: machines without IPv6 loopback (or with the port taken there) still work.
          logger.debug(`proxy: not listening on ${host}: ${code}`);
          continue;
        }
        if (code === 'EADDRINUSE') {
          throw new ProxyError('E_PORT_IN_USE', `port ${port} on ${host} is already in use`, {
            hint: 'stop what uses it (`gatepass proxy status`), or choose another with --port',
          });
        }
        throw new ProxyError('E_PROXY', `cannot listen on ${host}:${port}: ${describeError(err)}`, {
          cause: err,
        });
      }
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await pool?.close();
    wire?.destroyAll();
    tokens.close();
    throw err;
  }

  const first = addresses[0]!;
  const urlHost = first.includes(':') ? `[${first}]` : first;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    addresses,
    engine,
    close(graceMs = 5_000) {
      closed ??= (async () => {
        tokens.close();
        idleGc.stop();
        const cut = setTimeout(() => {
          if (wire) wire.destroyAll();
          else for (const s of servers) (s as http.Server).closeAllConnections();
        }, graceMs);
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                if (!wire) (s as http.Server).closeIdleConnections();
              }),
          ),
        );
        clearTimeout(cut);
        await pool?.close().catch(() => undefined);
      })();
      wire?.closeIdle();
      return closed;
    },
  };
}
