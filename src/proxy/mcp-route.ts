/**
 * The proxy's `/mcp/NAME[/…]` route, for tools without a per-server header helper: after the
 * proxy's guard (loopback Host, no browser Origin, the local proxy key, same-user peer), the request
 * goes to the MCP server added as NAME (`gatepass mcp add`) with the client's credentials dropped and
 * `Authorization: Bearer <token>` set — the provider's token or the one exchanged for that server
 * (mcp/token.ts). Streamable HTTP as is: POST bodies (buffered, up to 10 MiB, so a 401 can be retried
 * once with a fresh token), SSE responses streamed, GET/DELETE with the Mcp-Session-Id header.
 * Served by the node engine (undici); the server URL's path and the request's tail are joined.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { HOP_BY_HOP, upstreamRequestHeaders } from './headers.js';

export const MCP_PATH_PREFIX = '/mcp/';
const MAX_BODY = 10 * 1024 * 1024;

export interface McpRouteServer {
  name: string;
  url: string;
}

export interface McpRouteOptions {
  servers: McpRouteServer[];
  /** The bearer for a server; `stale` is the token the server just refused (refresh it). */
  token(server: McpRouteServer, stale?: string): Promise<string>;
  logger: Logger;
  /** Connect/header/body timeouts to the MCP server (ms). Default 10 min. */
  timeoutMs?: number;
}

export type McpSendError = (status: number, message: string) => void;

export interface McpRoute {
  matches(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, sendError: McpSendError): Promise<void>;
}

export function createMcpRoute(options: McpRouteOptions): McpRoute {
  const byName = new Map(options.servers.map((s) => [s.name, s]));
  const timeout = options.timeoutMs ?? 10 * 60_000;
  return {
    matches: (path) => path.startsWith(MCP_PATH_PREFIX),
    async handle(req, res, sendError) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const rest = path.slice(MCP_PATH_PREFIX.length);
      const slash = rest.indexOf('/');
      const name = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
      const server = byName.get(name);
      if (!server) {
        req.resume();
        sendError(
          404,
          `gatepass proxy: no MCP server named "${name}" for this provider (see \`gatepass mcp list\`)`,
        );
        return;
      }
      const target = new URL(server.url);
      if (slash >= 0) target.pathname = `${target.pathname.replace(/\/+$/, '')}${rest.slice(slash)}`;
      if (q >= 0) target.search = url.slice(q);
      let body: Buffer | undefined;
      try {
        body = await readBody(req);
      } catch (err) {
        sendError(413, `gatepass proxy: ${describeError(err)}`);
        return;
      }
      const m = (await import('undici')) as typeof import('undici') & { default?: typeof import('undici') };
      const { request } = typeof m.request === 'function' ? m : m.default!;
      let token: string;
      try {
        token = await options.token(server);
      } catch (err) {
        sendError(
          401,
          `gatepass: no token for MCP server "${name}" (${describeError(err)}). Run \`gatepass login\`.`,
        );
        return;
      }
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      for (let attempt = 0; ; attempt++) {
        const headers = upstreamRequestHeaders(req.headers, { token, keepContentLength: false });
        let up: Awaited<ReturnType<typeof request>>;
        try {
          up = await request(target, {
            method: (req.method ?? 'GET') as 'GET',
            headers,
            ...(body?.length ? { body } : {}),
            signal: abort.signal,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          });
        } catch (err) {
          if (abort.signal.aborted) return;
          options.logger.debug(`proxy: MCP server "${name}" unreachable: ${describeError(err)}`);
          sendError(502, `gatepass proxy: could not reach MCP server "${name}" at ${target.origin}`);
          return;
        }
        if (up.statusCode === 401 && attempt === 0) {
          await up.body.dump().catch(() => undefined);
          try {
            token = await options.token(server, token);
          } catch (err) {
            sendError(401, `gatepass: no token for MCP server "${name}" (${describeError(err)})`);
            return;
          }
          continue;
        }
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k.toLowerCase()) || k.toLowerCase() === 'connection')
            continue;
          out[k] = v;
        }
        res.writeHead(up.statusCode, out);
        res.flushHeaders();
        try {
          for await (const chunk of up.body) if (!res.write(chunk)) await once(res, 'drain');
          res.end();
        } catch {
          res.destroy();
        }
        return;
      }
    },
  };
}

function once(res: ServerResponse, event: 'drain'): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off(event, done);
      res.off('close', done);
      resolve();
    };
    res.on(event, done);
    res.on('close', done);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('MCP request body over 10 MiB'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}
