import type { DefineContext } from './types.js';

export function defineHeadersCommand({ program, runner }: DefineContext): void {
  program
    .command('headers')
    .description(
      "print HTTP headers as a JSON object: an MCP server's Authorization (Claude Code headersHelper) or identity headers (otelHeadersHelper)",
    )
    .option('--for <name>', 'the MCP server (added with `gatepass mcp add`) to authenticate to')
    .option('--otel', "the signed-in user's identity (x-user-id, x-user-email) for OpenTelemetry exports")
    .addHelpText(
      'after',
      `
Only the JSON object goes to stdout ({"Authorization":"Bearer …"} or {"x-user-id":…,"x-user-email":…});
errors go to stderr with exit code 1. --for uses the provider the server was added with (or
--provider): its token, or with mcp.token_exchange a token for the server exchanged at the IdP
(RFC 8693). It never opens a browser (Claude Code allows a headers helper 10 seconds) unless
GATEPASS_INTERACTIVE=1: sign in first with \`gatepass login\` (or \`gatepass setup\`).
--otel takes sub and email from the ID token of the last sign-in ({} when unknown).

Examples:
  gatepass headers --for wiki
  gatepass headers --otel`,
    )
    .action((...args) => runner(() => import('../commands/headers.js'), args));
}
