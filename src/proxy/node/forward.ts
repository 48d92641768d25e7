/**
 * The node engine's gateway hop for one request: undici's low-level dispatch handler writing the
 * answer straight into the node:http response (no intermediate streams), with the client's
 * backpressure and departure passed on, and a 401 swallowed when the request will be retried.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { downstreamRawHeaders } from '../headers.js';

/** The client went away: the request is abandoned without an answer. */
export class ClientGone extends Error {}

/**
 * Send one request upstream and stream the answer into `res`, on undici's low-level handler
 * interface (no intermediate streams): gateway backpressure follows the client's, a client that
 * leaves aborts the upstream request. Resolves true when a 401 was swallowed for a retry.
 */
export function forward(
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
