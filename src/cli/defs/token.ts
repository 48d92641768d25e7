import { Option } from 'commander';
import { CA_FILE_FLAG_HELP, SKIP_VERIFY_FLAG_HELP } from '../tls-flags.js';
import { TOKEN_FORMATS } from '../token-format.js';
import type { DefineContext } from './types.js';

export { TOKEN_FORMATS } from '../token-format.js';

export function defineTokenCommand({ program, runner }: DefineContext): void {
  program
    .command('token')
    .description('print a fresh gateway token on stdout (for apiKeyHelper, auth.command, kubectl, scripts)')
    .option('--interactive', 'allow the browser login when no token can be refreshed')
    .option(
      '--skip-browser',
      'allow a login but never open a browser: print the URL on stderr and wait (headless/SSH)',
    )
    .option('--ca-file <file>', CA_FILE_FLAG_HELP)
    .option('--tls-skip-verify', SKIP_VERIFY_FLAG_HELP)
    .option('--min-valid <seconds>', 'refresh unless the token stays valid at least this long (default 60)')
    .addOption(
      new Option(
        '--format <format>',
        'output: the bare token, JSON {token, expires_at}, or a kubectl ExecCredential',
      )
        .choices([...TOKEN_FORMATS])
        .default('token'),
    )
    .addHelpText(
      'after',
      `
stdout carries only the token and a newline (or the JSON document); everything else goes to stderr.
The token comes from memory, the secret-store cache, a refresh, or — when interactive — a browser login.

Interactive (a login may start: a browser, or the URL on stderr with --skip-browser), decided in
this order:
  1. --interactive: interactive.
  2. GATEPASS_INTERACTIVE set: 1 (true, yes) interactive, 0 (false, no) never — it decides alone,
     over every rule below (Claude Desktop's background refreshes run with 0).
  3. --skip-browser: interactive (headless login).
  4. --format exec-credential and kubectl's KUBERNETES_EXEC_INFO spec.interactive=true: interactive.
  5. The provider has never logged in (no token_ref in the config, e.g. after \`gatepass setup
     --lazy\`) and a browser can be opened (GATEPASS_BROWSER set, macOS, Windows, or a
     DISPLAY/WAYLAND_DISPLAY): interactive.
Otherwise, with no usable token it fails with "authentication required: run \`gatepass login\`"
(code E_AUTH_REQUIRED, exit 1). Another GATEPASS_INTERACTIVE value is a usage error (exit 2).
A login waits up to GATEPASS_LOGIN_TIMEOUT seconds (default 300) for the browser to come back.

--format json prints {"token": "...", "expires_at": <epoch seconds or null>}.

Examples:
  gatepass token
  gatepass token --format json
  gatepass token --provider corp --format exec-credential`,
    )
    .action((...args) => runner(() => import('../commands/token.js'), args));
}
