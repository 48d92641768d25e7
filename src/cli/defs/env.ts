import { Option } from 'commander';
import type { DefineContext } from './types.js';

export const ENV_FORMATS = ['shell', 'dotenv', 'json', 'instrumentation-args'] as const;

export function defineEnvCommand({ program, runner }: DefineContext): void {
  program
    .command('env')
    .description('print the token as environment variables (or instrumentation args) for other programs')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices([...ENV_FORMATS]).default('shell'),
    )
    .addHelpText(
      'after',
      `
This prints a live token on stdout, by design (like \`gatepass token\`): do not run it where stdout
is logged. Prefer \`gatepass exec -- CMD\`, which never prints the token.

Formats:
  shell                 export GATEPASS_TOKEN='…' lines (plus auth.env_var), for eval "$(gatepass env)"
  dotenv                GATEPASS_TOKEN=… lines for a .env file (single-quoted where needed; a value
                        with a quote or a control character is refused)
  json                  one JSON object of the same variables
  instrumentation-args  trailblaze.llm.auth.token.<provider>=<token> for every provider that has a
                        token, plus trailblaze.llm.provider.type, .base_url and .chat_completions_path
                        of the selected provider (from api_type, gateway_url, chat_completions_path);
                        a value holding anything a shell would interpret is refused

Tokens expire: a variable exported now goes stale, and for a command provider whose auth.env_var
you export, that variable then overrides gatepass itself in the same shell.`,
    )
    .action((...args) => runner(() => import('../commands/env.js'), args));
}
