/**
 * The course of one exchange in the wire engine, from its parsed head to done(): routing (the guard's
 * verdict), the wait for a token, the request head to the gateway with the token spliced in, the
 * request body forwarded as it arrives (tee: recorded for a replay; pump: streamed), the one retry
 * after a 401 and the retries of a pooled connection the gateway had closed, the failures, and what
 * comes after the exchange on its client connection (the next pipelined request, or the close).
 * Every function takes the exchange (its engine state is ex.client.engine): no closure per request.
 */
import type { TokenResult } from '../../auth/types.js';
import { GatepassError } from '../../errors.js';
import { tokenWithin } from '../token-wait.js';
import type { Exchange } from './exchange.js';
import { put, requestHead } from './heads-out.js';
import { sendError, sendPlain } from './respond.js';
import { CRLF, chunkSizeLine, GONE, Phase, SMALL_WRITE } from './state.js';
import { ensureSweeper } from './sweeper.js';
import type { Upstream } from './upstream.js';

/** Visible ASCII only (a token is spliced into the request head); the last good one is remembered. */
let lastSafeToken = '';
function headerSafe(token: string): boolean {
  if (token === lastSafeToken) return true;
  if (!/^[\x21-\x7e]+$/.test(token)) return false;
  lastSafeToken = token;
  return true;
}

/** A connection to the gateway for `ex` (the sweeper runs while one is busy). */
function acquire(ex: Exchange): Upstream {
  const st = ex.client.engine;
  const u = st.pool.acquire(ex);
  ensureSweeper(st);
  return u;
}

export function start(ex: Exchange): void {
  const h = ex.head;
  if (h.upgrade) {
    sendError(ex, 501, 'internal', 'gatepass proxy: protocol upgrades and CONNECT are not supported');
    done(ex);
    return;
  }
  const v = ex.client.engine.policy.route(h.method, h.url, h.headers, ex.client.peer);
  if (v.kind === 'refuse') {
    answerAfterBody(ex, () => sendError(ex, 403, 'forbidden', v.message));
    return;
  }
  if (v.kind === 'health') {
    answerAfterBody(ex, () => sendPlain(ex, 200, v.body));
    return;
  }
  ex.path = v.path;
  if (h.expectContinue && !ex.bodyDone) ex.client.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  obtainToken(ex); // the body (if any) goes out as it arrives: tee(), pump()
}

export function obtainToken(ex: Exchange): void {
  const policy = ex.client.engine.policy;
  const t = policy.peekToken();
  if (t) send(ex, t.token);
  else sendWhenToken(ex, () => policy.getToken());
}

/** Wait for a token (a login, a refresh), then send — unless the exchange ended meanwhile. */
function sendWhenToken(ex: Exchange, get: () => Promise<TokenResult>): void {
  ex.phase = Phase.Token;
  tokenWithin(ex.client.socket, get, ex.client.engine.policy.tokenWaitMs, () => GONE).then(
    (tok) => {
      if (ex.phase === Phase.Token) send(ex, tok.token);
    },
    (err: unknown) => tokenFailed(ex, err),
  );
}

function tokenFailed(ex: Exchange, err: unknown): void {
  if (ex.phase === Phase.Done) return;
  if (err === GONE || ex.client.closed) {
    done(ex);
    return;
  }
  const message = ex.client.engine.policy.tokenFailure(err);
  answerAfterBody(ex, () => sendError(ex, 401, 'auth', message));
}

function send(ex: Exchange, token: string): void {
  if (ex.client.closed) {
    done(ex);
    return;
  }
  if (!headerSafe(token)) {
    tokenFailed(
      ex,
      new GatepassError(
        'E_AUTH_FAILED',
        'the token source returned a value that cannot be sent in an HTTP header',
      ),
    );
    return;
  }
  ex.token = token;
  ex.phase = Phase.Upstream;
  ex.swallow401 = !ex.retried401 && ex.bodyMode === 'buffer';
  ex.swallowed = false;
  ex.status = 0;
  const u = acquire(ex);
  ex.conn = u;
  ex.reused = u.reused;
  const streamed = ex.bodyMode === 'stream';
  const s = u.socket;
  const host = ex.client.engine.hostLine;
  if (!streamed && ex.bodyBytes <= SMALL_WRITE) {
    // Head and (small) body in one write: one segment, one syscall.
    const buf = requestHead(ex.head, ex.path, host, token, false, ex.bodyBytes);
    let off = buf.length - ex.bodyBytes;
    for (const b of ex.body) off = put(buf, off, b, 0, b.length);
    s.write(buf);
    ex.sent = ex.body.length;
    u.bodyPending = !ex.bodyDone;
    return;
  }
  const head = requestHead(ex.head, ex.path, host, token, streamed && ex.head.chunked, 0);
  if (!streamed) {
    ex.sent = 0;
    s.cork();
    s.write(head);
    tee(ex);
    s.uncork();
    return;
  }
  s.write(head);
  pump(ex);
}

/**
 * Replayable body: send the recorded pieces the current connection has not had yet (they stay
 * recorded for a retry after a 401 or on a fresh connection). The client is not paused when the
 * gateway reads more slowly: every piece is held by the recording anyway (at most maxReplay
 * bytes, its declared length), so a socket's write queue only adds references to the same buffers,
 * and pausing would leave the client waiting for nothing (bench/README.md, "What users run, uploads
 * at the client's pace").
 */
export function tee(ex: Exchange): void {
  const u = ex.conn;
  if (!u || ex.phase !== Phase.Upstream) return;
  u.last = ex.client.engine.clock;
  const s = u.socket;
  const body = ex.body;
  for (let i = ex.sent; i < body.length; i++) s.write(body[i]!);
  ex.sent = body.length;
  u.bodyPending = !ex.bodyDone;
}

/** Streamed request body: forward what has arrived (chunk-framed when the client chunked it). */
export function pump(ex: Exchange): void {
  const u = ex.conn;
  if (!u || ex.phase !== Phase.Upstream) return;
  u.last = ex.client.engine.clock;
  const s = u.socket;
  let ok = true;
  const chunked = ex.head.chunked;
  if (chunked) s.cork(); // size line, data, CRLF: one writev, no copy
  for (const b of ex.body) {
    if (chunked) {
      if (b.length) {
        s.write(chunkSizeLine(b.length), 'latin1');
        s.write(b);
        ok = s.write(CRLF);
      }
    } else ok = s.write(b);
  }
  ex.body = [];
  ex.bodyBytes = 0;
  if (ex.bodyDone && chunked && !ex.endSent) {
    ex.endSent = true;
    ok = s.write('0\r\n\r\n', 'latin1');
  }
  if (chunked) s.uncork();
  u.bodyPending = !ex.bodyDone || (chunked && !ex.endSent);
  const c = ex.client.socket;
  if (!ok) c.pause();
  else if (c.isPaused() && ex.client.queue.length < 2) c.resume();
}

export function retryAfter401(ex: Exchange): void {
  const policy = ex.client.engine.policy;
  policy.debug('proxy: gateway answered 401; refreshing the token and retrying once');
  ex.retried401 = true;
  sendWhenToken(ex, () => policy.replaceToken(ex.token));
}

export function upstreamFailed(ex: Exchange, err: unknown): void {
  if (ex.phase !== Phase.Upstream) return;
  if (ex.client.closed) {
    done(ex);
    return;
  }
  if (ex.responseStarted) {
    ex.client.engine.policy.debug(
      `proxy: upstream failed mid-response (${(err as { code?: string }).code ?? 'error'})`,
    );
    ex.client.socket.destroy();
    done(ex);
    return;
  }
  // A pooled connection the gateway had already closed: nothing was answered, try a fresh one.
  const protocolError = (err as { code?: string }).code === 'E_UPSTREAM_PROTOCOL';
  if (ex.reused && ex.status === 0 && ex.bodyMode === 'buffer' && ex.staleRetries < 2 && !protocolError) {
    ex.staleRetries++;
    send(ex, ex.token);
    return;
  }
  const f = ex.client.engine.policy.upstreamFailure(err);
  if (ex.bodyMode === 'stream' && !ex.bodyDone) ex.closeAfter = true;
  ex.bodyMode = 'discard';
  sendError(ex, f.status, f.kind, f.message);
  done(ex);
}

/** Answer without forwarding; the body is read and dropped (small) or the connection closes after. */
export function answerAfterBody(ex: Exchange, answer: () => void): void {
  const buffered = ex.bodyMode === 'buffer';
  ex.bodyMode = 'discard';
  ex.body.length = 0;
  if (ex.bodyDone || ex.client.closed) {
    answer();
    done(ex);
    return;
  }
  if (buffered && !ex.head.expectContinue) {
    // Answer now (a client may wait for it before sending its body: a key-less POST is refused
    // at once, as the node engine does); the rest of the body is read and dropped, then the
    // connection goes on. A body that never arrives is cut by the sweeper's body timeout.
    answer();
    ex.phase = Phase.Body;
    ex.pendingAnswer = () => undefined; // finished by the client's onComplete
    return;
  }
  ex.closeAfter = true; // a large or streamed body is not read just to be thrown away
  answer();
  done(ex);
}

export function done(ex: Exchange): void {
  if (ex.phase === Phase.Done) return;
  ex.phase = Phase.Done;
  const c = ex.client;
  if (ex.conn) {
    ex.conn.drop(); // still busy (the client left, or the answer is ours): not reusable
    ex.conn = undefined;
  }
  c.engine.policy.accessLog?.(
    ex.head.method,
    ex.head.url.split('?')[0]!,
    ex.responseStarted && !c.closed ? ex.status : 499,
    performance.now() - ex.started,
  );
  if (c.queue[0] === ex) c.queue.shift();
  if (c.closed) return;
  if (ex.closeAfter || (!ex.bodyDone && ex.head.contentLength !== 0)) {
    // Unread request bytes would be parsed as the next request: close instead.
    c.closed = true;
    c.socket.end();
    return;
  }
  const next = c.queue[0];
  if (next) start(next);
  else if (c.engine.stopping) c.socket.end();
  if (c.socket.isPaused() && c.queue.length < 2) c.socket.resume();
}
