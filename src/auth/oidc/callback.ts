/**
 * The loopback redirect target of the browser login (RFC 8252): an HTTP server on 127.0.0.1 that
 * accepts exactly one callback carrying the expected `state`, answers with a small HTML page (every
 * interpolated value escaped), and closes. Other paths get 404 (browsers ask for /favicon.ico);
 * callbacks with a wrong or missing state are refused without ending the wait, so a stray or forged
 * request cannot abort or hijack the login.
 */
import http from 'node:http';
import { AuthError, GatepassError } from '../../errors.js';
import { redact } from '../../redact.js';

export const CALLBACK_PATH = '/callback';

export type CallbackVerdict =
  | { kind: 'ignore'; status: 404 }
  | { kind: 'reject'; status: 400; message: string }
  | { kind: 'error'; status: 200; error: string; description?: string }
  | { kind: 'ok'; status: 200 };

/** Judge one request to the callback server. Pure, for unit tests. */
export function judgeCallback(method: string, url: URL, expectedState: string): CallbackVerdict {
  if (method !== 'GET' || url.pathname !== CALLBACK_PATH) return { kind: 'ignore', status: 404 };
  const states = url.searchParams.getAll('state');
  if (states.length !== 1 || states[0] !== expectedState) {
    return {
      kind: 'reject',
      status: 400,
      message: 'This login response does not belong to the login in progress.',
    };
  }
  const error = url.searchParams.get('error');
  if (error) {
    const description = url.searchParams.get('error_description');
    return description
      ? { kind: 'error', status: 200, error, description }
      : { kind: 'error', status: 200, error };
  }
  if (url.searchParams.getAll('code').length !== 1 || !url.searchParams.get('code')) {
    return { kind: 'reject', status: 400, message: 'The login response has no authorization code.' };
  }
  return { kind: 'ok', status: 200 };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function resultPage(title: string, detail: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gatepass: ${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p></body></html>
`;
}

/**
 * The URL of a request to the callback server, from its origin-form target (`/callback?…`) only;
 * undefined for anything else (absolute-form `http://host/…`, `*`, targets URL parsing refuses).
 */
export function requestUrl(origin: string, target: string | undefined): URL | undefined {
  if (!target?.startsWith('/')) return undefined;
  try {
    return new URL(`${origin}${target}`);
  } catch {
    return undefined;
  }
}

export interface CallbackHit {
  url: URL;
  respond(ok: boolean, detail?: string): void;
}

export interface CallbackServer {
  port: number;
  redirectUri: string;
  /**
   * Resolves with the full callback URL (to hand to openid-client) and a function that answers the
   * browser once the code exchange is done; rejects on an error the IdP redirected with.
   */
  result: Promise<CallbackHit>;
  close(): Promise<void>;
}

export interface CallbackOptions {
  /**
   * Host name of the redirect URI: `127.0.0.1` (default), or `localhost` for IdPs that register
   * http://localhost (Entra ID). With `localhost` the server also listens on ::1 (same port), since
   * a browser may resolve localhost to either address.
   */
  redirectHost?: '127.0.0.1' | 'localhost';
}

/** Listen on ::1 at `port` too, when the machine has IPv6 loopback; undefined when it cannot. */
async function listenV6(server: http.Server, port: number): Promise<http.Server | undefined> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '::1', () => resolve(server));
  });
}

export async function startCallbackServer(
  port: number,
  expectedState: string,
  options: CallbackOptions = {},
): Promise<CallbackServer> {
  const host = options.redirectHost ?? '127.0.0.1';
  let settle!: { resolve: (hit: CallbackHit) => void; reject: (e: Error) => void };
  const result = new Promise<CallbackHit>((resolve, reject) => {
    settle = { resolve, reject };
  });
  result.catch(() => {});
  let done = false;
  // Set once listening (before any request can arrive): the origin the redirect URI names.
  let origin = '';
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('connection', 'close');
    const url = requestUrl(origin, req.url);
    if (!url) {
      // An absolute-form or unparsable request target: never the browser's redirect, and never a
      // reason to abort the login (a throw here would crash the process).
      res.writeHead(400).end(resultPage('Bad request', 'This is not a login response.'));
      return;
    }
    const verdict = done
      ? ({ kind: 'ignore', status: 404 } as const)
      : judgeCallback(req.method ?? 'GET', url, expectedState);
    switch (verdict.kind) {
      case 'ignore':
        res.writeHead(404).end(resultPage('Not found', 'Nothing here.'));
        return;
      case 'reject':
        res.writeHead(400).end(resultPage('Login response refused', verdict.message));
        return;
      case 'error': {
        done = true;
        const text = redact(
          verdict.description ? `${verdict.error}: ${verdict.description}` : verdict.error,
        ).slice(0, 300);
        res.writeHead(200).end(resultPage('Login failed', `${text}. You can close this window.`));
        settle.reject(new AuthError('E_AUTH_FAILED', `login failed at the identity provider: ${text}`));
        return;
      }
      case 'ok':
        done = true;
        settle.resolve({
          url,
          respond(ok, detail) {
            if (res.writableEnded) return;
            res
              .writeHead(200)
              .end(
                ok
                  ? resultPage('Logged in', 'gatepass received your login. You can close this window.')
                  : resultPage('Login failed', `${redact(detail ?? 'unknown error').slice(0, 300)}`),
              );
          },
        });
        return;
    }
  };
  const server = http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new GatepassError(
              'E_PORT_IN_USE',
              `the login callback port 127.0.0.1:${port} is already in use`,
              {
                hint: 'stop the program using it (maybe another `gatepass login`), or pick another port: `gatepass config set oidc.callback_port <n>` (it must match a redirect URI your IdP allows)',
              },
            )
          : new GatepassError('E_IO', `cannot listen on 127.0.0.1:${port}: ${err.message}`, { cause: err }),
      );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  origin = `http://${host}:${actual}`;
  const v6 = host === 'localhost' ? await listenV6(http.createServer(onRequest), actual) : undefined;
  const stop = (s: http.Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    port: actual,
    redirectUri: `${origin}${CALLBACK_PATH}`,
    result,
    close: async () => {
      await Promise.all([stop(server), ...(v6 ? [stop(v6)] : [])]);
    },
  };
}
