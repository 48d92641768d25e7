/**
 * A minimal `fetch` on node:http / node:https for openid-client's IdP requests (`customFetch`), used
 * when neither a TLS option nor an egress proxy applies — exactly the case where Node's built-in
 * fetch was used before, which reads no proxy variables and trusts the default CA store, as this
 * does (NODE_EXTRA_CA_CERTS, --use-openssl-ca and the like apply to both alike).
 *
 * Why: Node's fetch (its bundled undici) costs a short-lived process ~130 ms of CPU on first use
 * (loading undici's fetch machinery and compiling its WebAssembly HTTP parser), more than the rest
 * of a token refresh together; node:http is part of Node's start-up snapshot.
 *
 * What it does, as fetch with `redirect: 'manual'` (all openid-client asks for): one request per
 * connection (no keep-alive: nothing lingers after the answer), no redirect followed (a 3xx comes
 * back as it is), gzip/deflate/br bodies decoded, an AbortSignal honoured (the rejection is the
 * signal's reason, e.g. a TimeoutError, as with fetch), network failures reject with
 * `TypeError('fetch failed', { cause })` like undici, so error mapping sees the same cause codes
 * (ECONNREFUSED, TLS certificate codes). Answers over 16 MiB are refused (an IdP's are a few KiB).
 */
import http from 'node:http';
import { builtin } from '../util/builtin.js';

// node:https (and with it node:tls) is loaded for https URLs only (util/builtin.ts): an ES import of
// a built-in evaluates every export of it, node:tls' root certificate list included.

export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface NodeFetchInit {
  method?: string;
  headers?: Record<string, string> | [string, string][] | Headers;
  body?: string | URLSearchParams | Uint8Array | null;
  redirect?: string;
  signal?: AbortSignal | null;
}

/** Statuses a Response may not carry a body with. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function headerEntries(h: NodeFetchInit['headers']): [string, string][] {
  if (!h) return [];
  if (Array.isArray(h)) return h;
  // A Headers object (a plain record has no entries method of its own).
  if (typeof (h as Headers).entries === 'function') return [...(h as Headers).entries()];
  return Object.entries(h as Record<string, string>);
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

async function decode(encoding: string | undefined, body: Buffer): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (!enc || enc === 'identity') return body;
  const zlib = await import('node:zlib');
  if (enc === 'gzip' || enc === 'x-gzip') return zlib.gunzipSync(body);
  if (enc === 'deflate') return zlib.inflateSync(body);
  if (enc === 'br') return zlib.brotliDecompressSync(body);
  throw new Error(`unsupported content-encoding ${enc}`);
}

/** fetch(url, init) for http: and https: URLs; see the module comment for what it covers. */
export function nodeFetch(input: string | URL, init: NodeFetchInit = {}): Promise<Response> {
  const url = new URL(String(input));
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(fetchFailed(new Error(`unsupported protocol ${url.protocol}`)));
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of headerEntries(init.headers)) headers[k.toLowerCase()] = v;
  let body: Buffer | undefined;
  if (init.body !== undefined && init.body !== null) {
    if (init.body instanceof URLSearchParams) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
      body = Buffer.from(init.body.toString(), 'utf8');
    } else if (typeof init.body === 'string') {
      headers['content-type'] ??= 'text/plain;charset=UTF-8';
      body = Buffer.from(init.body, 'utf8');
    } else {
      body = Buffer.from(init.body);
    }
    headers['content-length'] = String(body.length);
  }
  headers['accept'] ??= '*/*';
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  headers['connection'] = 'close';
  const mod = url.protocol === 'https:' ? builtin('node:https') : http;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? signal.reason : fetchFailed(err));
    };
    const req = mod.request(url, { method: init.method ?? 'GET', headers, agent: false });
    function onAbort() {
      req.destroy();
      fail(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          fail(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(d);
      });
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 599) {
          fail(new Error(`unexpected HTTP status ${status}`));
          return;
        }
        const raw = res.rawHeaders;
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
        decode(res.headers['content-encoding'], Buffer.concat(chunks)).then(
          (bytes) => {
            if (settled) return;
            settled = true;
            signal?.removeEventListener('abort', onAbort);
            const out = new Response(NULL_BODY.has(status) ? null : bytes, {
              status,
              statusText: res.statusMessage ?? '',
              headers: pairs.filter(([k]) => {
                const n = k.toLowerCase();
                // The body handed on is decoded: its encoding and length no longer apply.
                return n !== 'content-encoding' && n !== 'content-length';
              }),
            });
            Object.defineProperty(out, 'url', { value: url.href });
            resolve(out);
          },
          (err: unknown) => fail(err),
        );
      });
    });
    req.end(body);
  });
}
