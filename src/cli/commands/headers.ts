/**
 * `gatepass headers --for NAME` / `--otel`: the JSON object of HTTP headers Claude Code's
 * `headersHelper` (per MCP server) and `otelHeadersHelper` expect, on stdout and nothing else —
 * errors go to stderr with a non-zero exit, so Claude Code never parses a message as headers.
 */
import type { Provider } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { requireUsableProvider } from '../../config/validate.js';
import { UsageError } from '../../errors.js';
import { findMcpEntry } from '../../mcp/entries.js';
import { otelIdentityHeaders } from '../../mcp/otel.js';
import { registerSecret } from '../../redact.js';
import { envBool } from '../../util/env.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

export interface HeadersOptions {
  for?: string;
  otel?: boolean;
}

export async function run(ctx: CliContext, options: HeadersOptions): Promise<number> {
  if (Boolean(options.for) === Boolean(options.otel)) {
    throw new UsageError('pass exactly one of --for <name> and --otel', {
      hint: 'gatepass headers --for wiki (an MCP server added with `gatepass mcp add`), or gatepass headers --otel',
    });
  }
  const { config } = await loadConfig(ctx.paths.configFile);
  if (options.otel) {
    const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
    const headers = otelIdentityHeaders(provider);
    if (!Object.keys(headers).length)
      ctx.logger.warn(
        `no signed-in identity is known for provider "${name}" (sign in with \`gatepass login\`)`,
      );
    ctx.stdout.write(`${JSON.stringify(headers)}\n`);
    return 0;
  }
  const server = options.for!;
  const entry = findMcpEntry(config, server);
  if (!entry) {
    throw new UsageError(`no MCP server named "${server}" was added by gatepass`, {
      hint: 'see `gatepass mcp list`; add it with `gatepass mcp add <name> <url>`',
    });
  }
  const { name, provider } = requireProvider(
    config,
    ctx.globals.provider ?? entry.provider,
    ctx.paths.configFile,
  );
  requireUsableProvider(name, provider as Provider, config);
  // Claude Code gives a headersHelper 10 seconds: no login here unless asked (GATEPASS_INTERACTIVE=1).
  const interactive = envBool(ctx.env, 'GATEPASS_INTERACTIVE') === true;
  const auth = await buildAuthContext(ctx, { config, interactive, skipBrowser: !interactive });
  const { mcpToken } = await import('../../mcp/token.js');
  const token = await mcpToken(
    auth,
    name,
    provider,
    {
      name: server,
      url: entry.mcp_url,
      ...(typeof entry['mcp_audience'] === 'string' ? { audience: entry['mcp_audience'] } : {}),
    },
    { interactive },
  );
  registerSecret(token);
  ctx.stdout.write(`${JSON.stringify({ Authorization: `Bearer ${token}` })}\n`);
  return 0;
}
