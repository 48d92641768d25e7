/**
 * A request's wait for a gateway token, shared by both engines: bounded by the proxy's token wait and
 * by the client staying connected (a login left waiting in the browser goes on for the next request).
 */
import type { TokenResult } from '../auth/types.js';
import { GatepassError } from '../errors.js';

/**
 * A token from `get`, but never after `waitMs` (E_AUTH_TIMEOUT: a login left waiting in the browser)
 * nor after `client` closed (rejects with gone()): the login itself goes on for the next request.
 */
export function tokenWithin(
  client: { once(event: 'close', f: () => void): unknown; off(event: 'close', f: () => void): unknown },
  get: () => Promise<TokenResult>,
  waitMs: number,
  gone: () => Error,
): Promise<TokenResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('close', onClose);
      reject(new GatepassError('E_AUTH_TIMEOUT', 'timed out waiting for a gateway token'));
    }, waitMs);
    const onClose = () => {
      clearTimeout(timer);
      reject(gone());
    };
    client.once('close', onClose);
    get().then(
      (t) => {
        clearTimeout(timer);
        client.off('close', onClose);
        resolve(t);
      },
      (err: unknown) => {
        clearTimeout(timer);
        client.off('close', onClose);
        reject(err);
      },
    );
  });
}
