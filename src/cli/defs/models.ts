import type { DefineContext } from './types.js';

export function defineModelsCommand({ program, runner }: DefineContext): void {
  program
    .command('models')
    .description("list the models the gateway serves (GET <gateway>/v1/models with the provider's token)")
    .option(
      '--json',
      'machine-readable JSON: { provider, url, models: [id…], claude_code_tiers: {haiku?, sonnet?, opus?} }',
    )
    .addHelpText(
      'after',
      `
Lists <gateway><openai_path_prefix>/v1/models, or <gateway><anthropic_path_prefix>/v1/models when
the first is 404, accepting the OpenAI ({data:[{id}]}) and the Anthropic list shape (following its
pages), through the provider's TLS options and egress proxy. It uses the stored or refreshed token
and never opens a browser (a command provider's token_command runs non-interactively): sign in
first with \`gatepass login\`. Exit code 1 when there is no token, the gateway rejects it, or it
has no model list.

Setup uses the same list: without --models (or with --models auto) it saves the gateway's models
as discovered and wires Claude Code's ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL (the newest of
each family), Codex's model, and the model lists of Claude Desktop, OpenCode, VS Code and Xcode.

Examples:
  gatepass models
  gatepass --provider corp models --json`,
    )
    .action((...args) => runner(() => import('../commands/models.js'), args));
}
