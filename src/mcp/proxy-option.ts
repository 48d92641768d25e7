/**
 * What `gatepass proxy start` serves under `/mcp/NAME`: the MCP servers added for its provider,
 * each with the provider's token (from the proxy's token source) or the exchanged one (token.ts).
 * Undefined when none is configured, so the proxy stays on its default engine.
 */
import type { AuthContext, TokenSource } from '../auth/types.js';
import type { GatepassConfig, Provider } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { McpRoute } from '../proxy/mcp-route.js';
import { mcpEntries, mcpNameOf } from './entries.js';
import { mcpToken } from './token.js';

export async function mcpProxyRoute(
  auth: AuthContext,
  config: GatepassConfig,
  providerName: string,
  provider: Provider,
  source: TokenSource,
  logger: Logger,
): Promise<McpRoute | undefined> {
  const entries = mcpEntries(config).filter((e) => (e.provider ?? config.default_provider) === providerName);
  if (!entries.length) return undefined;
  const { createMcpRoute } = await import('../proxy/mcp-route.js');
  const targets = new Map(
    entries.map((e) => [
      mcpNameOf(e),
      {
        name: mcpNameOf(e),
        url: e.mcp_url,
        ...(typeof e['mcp_audience'] === 'string' ? { audience: e['mcp_audience'] } : {}),
      },
    ]),
  );
  logger.debug(`proxy: MCP servers under /mcp/: ${[...targets.keys()].join(', ')}`);
  return createMcpRoute({
    servers: [...targets.values()],
    logger,
    async token(server, stale) {
      if (stale) source.invalidate(stale);
      const subject = await source.getToken({ interactive: true, ...(stale ? { forceRefresh: true } : {}) });
      return mcpToken(auth, providerName, provider, targets.get(server.name)!, {
        interactive: true,
        subjectToken: subject.token,
      });
    },
  });
}
