/**
 * Issue #20: a token for the MCP server's own audience (provider `mcp.token_exchange: true`), with
 * the real oidc-provider. oidc-provider has no built-in RFC 8693 support, so the test IdP registers
 * the token-exchange grant through oidc-provider's extension-grant API (test/helpers/
 * idp-token-exchange.ts): it verifies the subject token against its own keys and issues, through
 * its own token model and keys, a JWT whose `aud` is the MCP server. The MCP server (official SDK)
 * accepts only such tokens — the gateway's token is refused — and gets them both from
 * `gatepass headers --for` (Claude Code's headersHelper) and through the proxy's /mcp/NAME route.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserHook, startBrowserHook } from '../helpers/browser.js';
import { runGatepass } from '../helpers/cli.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { TOKEN_EXCHANGE_GRANT } from '../helpers/idp-token-exchange.js';
import { idpVerifier, MCP_TOOL, startMcpServer, type TestMcpServer } from '../helpers/mcp-server.js';
import { loggedInOidcHome, type OidcHome } from '../helpers/oidc-home.js';
import { freePort } from '../helpers/ports.js';

let idp: TestIdp;
let hook: BrowserHook;
let mcp: TestMcpServer;
let t: OidcHome;
let mcpUrl: string;
beforeAll(async () => {
  [idp, hook] = await Promise.all([startTestIdp({ tokenExchange: true }), startBrowserHook()]);
  // The server's URL is its audience: start it, then verify against its own URL.
  let verify: (token: string) => Promise<boolean> = async () => false;
  mcp = await startMcpServer((tok) => verify(tok));
  mcpUrl = mcp.url;
  verify = idpVerifier(idp, mcpUrl);
  t = await loggedInOidcHome(idp, hook);
});
afterAll(async () => {
  await runGatepass(['proxy', 'stop'], { env: t.env });
  await mcp?.close();
  await hook?.close();
  await idp?.close();
  t?.cleanup();
});

const gp = (args: string[]) => runGatepass(args, { env: t.env, timeoutMs: 60_000 });

it('headers --for and the proxy hand the MCP server a token exchanged for its own audience, cached', async () => {
  expect((await gp(['config', 'set', '--mcp-token-exchange', 'true'])).code).toBe(0);
  const add = await gp(['mcp', 'add', 'wiki', mcpUrl, '--tools', 'claude-code,gemini']);
  expect(add.code, add.stderr).toBe(0);

  const h = await gp(['headers', '--for', 'wiki']);
  expect(h.code, h.stderr).toBe(0);
  const token = (JSON.parse(h.stdout) as { Authorization: string }).Authorization.slice('Bearer '.length);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: mcpUrl });
  const gatewayToken = (await gp(['token'])).stdout.trim();
  expect(payload.sub).toBe(decodeJwt(gatewayToken).sub);
  expect(token).not.toBe(gatewayToken);
  expect(idp.grantCount(TOKEN_EXCHANGE_GRANT)).toBe(1);

  // Cached like an access token: the next helper run exchanges nothing.
  const again = await gp(['headers', '--for', 'wiki']);
  expect(again.stdout).toBe(h.stdout);
  expect(idp.grantCount(TOKEN_EXCHANGE_GRANT)).toBe(1);

  // Through the proxy (Gemini CLI's path): the MCP SDK client lists the tools.
  const port = await freePort();
  const start = await gp(['proxy', 'start', '--background', '--port', String(port)]);
  expect(start.code, start.stderr).toBe(0);
  const key = (await gp(['proxy', 'key'])).stdout.trim();
  const client = new Client({ name: 'gatepass-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp/wiki`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  expect((await client.listTools()).tools.map((x) => x.name)).toEqual([MCP_TOOL]);
  await client.close();
  expect(mcp.calls.length).toBeGreaterThan(0);
  for (const c of mcp.calls) expect(c.ok, c.method).toBe(true);
  // The gateway's own token is not good for the MCP server.
  expect(await idpVerifier(idp, mcpUrl)(gatewayToken)).toBe(false);
});
