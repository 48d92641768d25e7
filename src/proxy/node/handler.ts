/**
 * The node engine's request handler: node:http in front, undici behind (node/forward.ts). The guard's
 * verdict, the request body (buffered when small and sized, so it can be replayed after a 401;
 * streamed otherwise), the token wait, the forward and its one retry, and the proxy's own errors as
 * JSON in the client's dialect. Its state is one NodeEngine object, built once per proxy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TokenResult } from '../../auth/types.js';
import { describeError } from '../../errors.js';
import type { ErrorKind } from '../dialect.js';
import { errorCodeOf } from '../failures.js';
import { upstreamRequestHeaders } from '../headers.js';
import type { ProxySettings } from '../options.js';
import type { PeerCheck } from '../peer.js';
import type { ProxyPolicy } from '../policy.js';
import type { TokenCache } from '../token-cache.js';
import { tokenWithin } from '../token-wait.js';
import { BodyTee } from './body-tee.js';
import { ClientGone, forward } from './forward.js';

/** What the node engine works with (built once by server.ts). */
export interface NodeEngine {
  s: ProxySettings;
  policy: ProxyPolicy;
  tokens: TokenCache;
  /** The gateway hop (node/dispatcher.ts). */
  pool: Dispatcher;
  peers: PeerCheck;
}

function sendError(
  n: NodeEngine,
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
  n.s.options.errorLog?.(req.method ?? 'GET', req.url ?? '/', status, message);
  const body = n.policy.errorBody(req.url ?? '/', req.headers, status, kind, message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Wait for a token, but never longer than tokenWaitMs nor after the client left. */
function waitForToken(
  n: NodeEngine,
  res: ServerResponse,
  get: () => Promise<TokenResult>,
): Promise<TokenResult> {
  return tokenWithin(res, get, n.s.tokenWaitMs, () => new ClientGone('client went away'));
}

/** The node:http engine's request handler. */
async function handle(n: NodeEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const policy = n.policy;
  const url = req.url ?? '/';
  const peer = n.peers.pending.get(req.socket);
  if (peer) await peer;
  const verdict = policy.route(req.method ?? 'GET', url, req.headers, req.socket);
  if (verdict.kind === 'refuse') {
    req.resume();
    sendError(n, req, res, 403, 'forbidden', verdict.message);
    return;
  }
  if (verdict.kind === 'health') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : verdict.body);
    return;
  }
  // #20 MCP hook: /mcp/NAME goes to that MCP server (after the guard above), not the gateway.
  const mcp = n.s.options.mcp;
  if (mcp?.matches(url)) {
    await mcp.handle(req, res, (status, message) =>
      sendError(n, req, res, status, status === 401 ? 'auth' : 'bad_gateway', message),
    );
    return;
  }

  // Small bodies with a known length are recorded (while they stream to the gateway) so the request
  // can be replayed after a 401.
  const lenHeader = req.headers['content-length'];
  const length = lenHeader === undefined ? undefined : Number(lenHeader);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  let body: Buffer | PassThrough | null = null;
  let replayable = true;
  /** A replayable body, streamed while recorded: a replay opens it again. */
  let tee: BodyTee | undefined;
  if (!chunked && (length === undefined || length === 0)) {
    req.resume();
  } else if (!chunked && length !== undefined && Number.isFinite(length) && length <= n.s.maxReplay) {
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
  return forwardWithToken(n, req, res, verdict.path, body, replayable, chunked, tee);
}

/** Get a token, forward, and on a swallowed 401 refresh it and forward once more. */
async function forwardWithToken(
  n: NodeEngine,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: Buffer | PassThrough | null,
  replayable: boolean,
  chunked: boolean,
  tee: BodyTee | undefined,
): Promise<void> {
  const { tokens, policy } = n;
  const method = req.method ?? 'GET';
  let token: TokenResult;
  const cached = tokens.peek();
  if (cached) token = cached;
  else {
    try {
      token = await waitForToken(n, res, () => tokens.get());
    } catch (err) {
      if (!(err instanceof ClientGone)) sendError(n, req, res, 401, 'auth', policy.tokenFailure(err));
      return;
    }
  }

  for (let attempt = 0; ; attempt++) {
    if (attempt > 0 && tee) body = tee.open();
    const headers = upstreamRequestHeaders(req.headers, {
      token: token.token,
      keepContentLength: !(body instanceof Buffer) && !chunked,
    });
    let retry: boolean;
    try {
      retry = await forward(
        n.pool,
        { origin: n.s.gateway.origin, path, method, headers, body },
        res,
        attempt === 0 && replayable,
      );
    } catch (err) {
      if (err instanceof ClientGone || res.destroyed) return;
      if (res.headersSent) {
        n.s.logger.debug(`proxy: upstream failed mid-response (${errorCodeOf(err) ?? describeError(err)})`);
        res.destroy();
        return;
      }
      const f = policy.upstreamFailure(err);
      sendError(n, req, res, f.status, f.kind, f.message);
      return;
    }
    if (!retry) return;
    n.s.logger.debug('proxy: gateway answered 401; refreshing the token and retrying once');
    try {
      token = await waitForToken(n, res, () => tokens.replace(token.token));
    } catch (err) {
      if (!(err instanceof ClientGone)) sendError(n, req, res, 401, 'auth', policy.tokenFailure(err));
      return;
    }
  }
}

/** The node:http engine's request listener (one per proxy). */
export function createRequestListener(n: NodeEngine): (req: IncomingMessage, res: ServerResponse) => void {
  const { accessLog, logger } = n.s;
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = accessLog ? performance.now() : 0;
    if (accessLog) {
      res.once('close', () => {
        const path = (req.url ?? '/').split('?')[0];
        const ms = (performance.now() - started).toFixed(1);
        const status = res.headersSent ? res.statusCode : 499;
        logger.debug(`proxy: ${req.method} ${path} ${status} ${ms}ms`);
      });
    }
    handle(n, req, res).catch((err: unknown) => {
      logger.error(`proxy: internal error: ${describeError(err)}`);
      if (!res.headersSent) sendError(n, req, res, 500, 'internal', 'gatepass proxy: internal error');
      else res.destroy();
    });
  };
}
