/**
 * A local MCP server built with the official SDK (`@modelcontextprotocol/sdk`, streamable HTTP,
 * stateless) serving one tool, `lookup`, behind bearer authentication: each request's token must
 * pass `verify` (a JWT checked against the real IdP's keys, or an exact value), else 401. Records
 * every JSON-RPC method with the Authorization header it came with.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { TestIdp } from './idp.js';

export const MCP_TOOL = 'lookup';
export const MCP_TOOL_REPLY = 'the wiki says hello';

export interface McpCall {
  method: string;
  authorization: string | undefined;
  ok: boolean;
}

export interface TestMcpServer {
  url: string;
  calls: McpCall[];
  close(): Promise<void>;
}

/** Accept JWTs signed by the IdP (issuer checked; audience when given). */
export function idpVerifier(idp: TestIdp, audience?: string): (token: string) => Promise<boolean> {
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  return async (token) => {
    try {
      await jwtVerify(token, jwks, { issuer: idp.issuer, ...(audience ? { audience } : {}) });
      return true;
    } catch {
      return false;
    }
  };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

export async function startMcpServer(
  verify: (token: string) => Promise<boolean>,
  path = '/mcp',
): Promise<TestMcpServer> {
  const calls: McpCall[] = [];
  const server: Server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const messages = Array.isArray(body) ? body : body ? [body] : [];
    const auth = req.headers.authorization;
    const ok = Boolean(auth?.startsWith('Bearer ') && (await verify(auth.slice(7))));
    for (const m of messages) {
      const method = (m as { method?: unknown }).method;
      if (typeof method === 'string') calls.push({ method, authorization: auth, ok });
    }
    if (!ok) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer error="invalid_token"',
      });
      res.end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    if ((req.url ?? '').split('?')[0] !== path) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      // Stateless server: no standalone SSE stream, no sessions to delete.
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const mcp = new McpServer({ name: 'test-wiki', version: '1.0.0' });
    mcp.registerTool(MCP_TOOL, { description: 'Look something up in the test wiki' }, async () => ({
      content: [{ type: 'text', text: MCP_TOOL_REPLY }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
