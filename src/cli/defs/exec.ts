import type { DefineContext } from './types.js';

export function defineExecCommand({ program, runner }: DefineContext): void {
  program
    .command('exec')
    .description("run a command with the provider's token in its environment")
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .addHelpText(
      'after',
      `
The command gets the token in GATEPASS_TOKEN and, for command providers with auth.env_var, in that
variable too; GATEPASS_PROVIDER and GATEPASS_GATEWAY_URL name the provider and its gateway. With
tls.ca_file configured, NODE_EXTRA_CA_CERTS names that CA bundle (joined with one already set) so
Node programs trust the gateway as gatepass does. The token is passed in the environment only (never
on a command line); the command's exit code is gatepass' exit code, and SIGINT/SIGTERM/SIGHUP/SIGQUIT
sent to gatepass are forwarded to it.

Examples:
  gatepass exec -- sh -c 'curl -sH "Authorization: Bearer $GATEPASS_TOKEN" https://llm.example.com/v1/models'
  gatepass --provider corp exec -- ./run-evals.sh`,
    )
    .action((...args) => runner(() => import('../commands/exec.js'), args));
}
