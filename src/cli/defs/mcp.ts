import type { DefineContext } from './types.js';

export function defineMcpCommand({ program, runner }: DefineContext): void {
  const mcp = program
    .command('mcp')
    .description('wire remote MCP servers into AI tools with the same sign-in as the LLM gateway')
    .addHelpText(
      'after',
      `
Claude Code gets the server in its MCP config (~/.claude.json mcpServers.<name>) with a
headersHelper running \`gatepass headers --for <name>\`. Gemini CLI (~/.gemini/settings.json),
Codex CLI (~/.codex/config.toml), OpenCode (opencode.json), VS Code and VS Code Insiders (the user
profile's mcp.json) and Cursor (~/.cursor/mcp.json) reach it through \`gatepass proxy\` at
/mcp/<name>, which checks the local proxy key and adds the token. Every edit keeps the rest of the
file; \`gatepass mcp remove\`, \`gatepass teardown\` and \`gatepass teardown <tool>\` undo it exactly.`,
    );

  mcp
    .command('add <name> <url>')
    .description('wire the streamable-HTTP MCP server at <url> into the tools as <name>')
    .option(
      '--tools <list>',
      'comma-separated tools: claude (claude-code), gemini, codex, opencode, vscode, vscode-insiders, cursor (default: those gatepass wired with setup, else the installed ones)',
    )
    .option(
      '--audience <value>',
      'audience to request in the token exchange (mcp.token_exchange), besides the URL as resource',
    )
    .addHelpText(
      'after',
      `
The server gets the provider's token (--provider, default the default provider), or with the
provider's mcp.token_exchange a token for the server itself (RFC 8693). Re-running updates it.

Examples:
  gatepass mcp add wiki https://mcp.corp.example/wiki/mcp
  gatepass --provider corp mcp add tickets https://tickets.corp.example/mcp --tools claude-code`,
    )
    .action((...args) => runner(() => import('../commands/mcp.js').then((m) => ({ run: m.runAdd })), args));

  mcp
    .command('remove <name>')
    .description('unwire the MCP server <name> from every tool it was added to')
    .action((...args) =>
      runner(() => import('../commands/mcp.js').then((m) => ({ run: m.runRemove })), args),
    );

  mcp
    .command('list')
    .description('list the MCP servers gatepass wired, and per tool the file and how it connects')
    .option(
      '--json',
      'machine-readable JSON: [{ name, url, provider, tools, files, wired: [{ tool, file, via, url }] }]',
    )
    .action((...args) => runner(() => import('../commands/mcp.js').then((m) => ({ run: m.runList })), args));
}
