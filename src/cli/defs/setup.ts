import { Option } from 'commander';
import { findField } from '../../config/validate.js';
import { TOOL_IDS } from '../../tools/ids.js';
import { SETUP_FIELDS } from './setup-fields.js';
import type { DefineContext } from './types.js';

export { SETUP_FIELDS } from './setup-fields.js';

export function defineSetupCommand({ program, runner }: DefineContext): void {
  const setup = program
    .command('setup')
    .description('configure gatepass, sign in, and wire the installed AI tools to the gateway');
  for (const key of SETUP_FIELDS) {
    const f = findField(key)!;
    const placeholder =
      f.kind === 'port' || f.kind === 'callback_port'
        ? 'n'
        : f.kind === 'scopes'
          ? 'scopes'
          : f.kind === 'models'
            ? 'list'
            : 'value';
    const arg = f.kind === 'boolean' ? '[bool]' : `<${placeholder}>`;
    setup.addOption(new Option(`${f.flag} ${arg}`, `${f.key}: ${f.description}`));
  }
  setup
    .option(
      '--tools <list>',
      `comma-separated tools to wire (default: every detected one): ${TOOL_IDS.join(', ')}`,
    )
    .option('--lazy', 'skip the login now; sign in on first use (for unattended/MDM provisioning)')
    .option('--dry-run', 'print the changes each file would get, and change nothing')
    .option('--skip-browser', 'print the login URL on stderr instead of opening a browser (headless/SSH)')
    .option(
      '--bedrock-compat',
      'Bedrock-backed gateway: Claude Code without experimental betas, per-tier models from --models',
    )
    .option('--no-bedrock-compat', 'turn a saved --bedrock-compat off and remove its settings again')
    .option(
      '--proxy-service',
      'when a proxy-mode tool is wired, install the per-user service keeping the proxy running (see `gatepass proxy install`; teardown removes it)',
    )
    .addHelpText(
      'after',
      `
Tools are wired in token-helper mode (Claude Code, Codex: they run \`gatepass token\`) or proxy mode
(Gemini CLI, OpenCode, VS Code, Xcode: they talk to \`gatepass proxy\` with a local key). Every edit
keeps the rest of the file, and \`gatepass teardown\` undoes exactly what setup changed. Claude Desktop
gets a credential-helper document in its configLibrary (quit and relaunch it afterwards).

Gateway layout: ANTHROPIC_BASE_URL (Claude Code, Claude Desktop) is the gateway URL plus
--anthropic-path-prefix; Codex and the proxy use --openai-path-prefix. When not given, setup
probes <gateway>/anthropic/v1/messages vs <gateway>/v1/messages and <gateway>/openai/v1/models vs
<gateway>/v1/models (HEAD, 2 s): a prefix only when the plain path is 404 and the prefixed one is
not. It remembers the answer, and warns when the gateway cannot be reached. --models, the prefixes and --bedrock-compat are saved in the config and kept by later runs;
--no-bedrock-compat turns Bedrock compatibility off again (and removes its settings).

Models: without --models (or with --models auto), once signed in setup lists the gateway's models
(GET <gateway>/v1/models, OpenAI or Anthropic shape, see \`gatepass models\`) and wires them:
Claude Code's ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL (the newest of each family), Codex's
model, and the model lists of Claude Desktop, OpenCode, VS Code and Xcode. They are saved as
discovered (models_discovered) and listed again by later runs; a list given with --models a,b wins
and is kept. A gateway without the endpoint wires no models. --dry-run lists nothing; --lazy
leaves it to the first token (\`gatepass token\` or the proxy fill the models in once).

Zero-config: with only --gateway-url, setup reads the gateway's OAuth protected resource metadata
(RFC 9728: /.well-known/oauth-protected-resource, or the resource_metadata of its 401) for the
issuer and the resource indicator (--resource, RFC 8707), and without a client id registers gatepass
with the authorization server (RFC 7591 dynamic client registration, a public loopback client).
They are saved like typed flags; --dry-run shows them and registers nothing. Without metadata or
registration it stops, naming the value to ask your admin for.

Examples:
  gatepass setup --gateway-url https://llm.corp.example
  gatepass setup --gateway-url https://llm.example.com --issuer https://sso.example.com --client-id gatepass
  gatepass setup --tools claude,codex --lazy
  gatepass setup --models auto
  gatepass setup --models us.anthropic.claude-sonnet-4-5,us.anthropic.claude-haiku-4-5 --bedrock-compat
  gatepass setup --anthropic-path-prefix /anthropic --openai-path-prefix ''
  gatepass setup --dry-run`,
    )
    .action((...args) => runner(() => import('../commands/setup.js'), args));
}
