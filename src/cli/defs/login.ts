import { CA_FILE_FLAG_HELP, SKIP_VERIFY_FLAG_HELP } from '../tls-flags.js';
import type { DefineContext } from './types.js';

export function defineLoginCommand({ program, runner }: DefineContext): void {
  program
    .command('login')
    .description(
      'log in to the provider (browser, or --device for machines without one) and store the tokens',
    )
    .option(
      '--device',
      'use the device authorization grant (RFC 8628): visit a URL on any device and confirm a code',
    )
    .option(
      '--paste',
      'print the URL and read the address the browser ends on, pasted here (a browser on another machine: SSH, containers)',
    )
    .option('--skip-browser', 'print the login URL on stderr instead of opening a browser')
    .option('--ca-file <file>', CA_FILE_FLAG_HELP)
    .option('--tls-skip-verify', SKIP_VERIFY_FLAG_HELP)
    .option(
      '--timeout <seconds>',
      'give up waiting for the login after this long (default: $GATEPASS_LOGIN_TIMEOUT, else 300)',
    )
    .addHelpText(
      'after',
      `
Tokens go to the OS keychain (or the store chosen with GATEPASS_SECRET_STORE=keychain|file|env|memory).
GATEPASS_BROWSER=<command> opens the URL with that command instead of the system browser.
GATEPASS_LOGIN_TIMEOUT=<seconds> sets how long any login waits (also one started by token or proxy).

Examples:
  gatepass login
  gatepass login --provider corp --skip-browser
  gatepass login --device
  gatepass login --paste       # over SSH: log in on your laptop, paste the address it ends on`,
    )
    .action((...args) => runner(() => import('../commands/login.js'), args));
}
