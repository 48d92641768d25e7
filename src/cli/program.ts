/**
 * The command tree. Only definitions live here — names, arguments, options, help — and every action
 * lazily imports its implementation from `./commands/`, so `gatepass token` loads only what it uses.
 * `npm run docs` renders docs/cli/ from this same tree.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../version.js';
import type { CliIO, GlobalOptions } from './context.js';
import { defineCompletionCommand } from './defs/completion.js';
import { defineConfigCommand } from './defs/config.js';
import { defineDoctorCommand } from './defs/doctor.js';
import { defineEnvCommand } from './defs/env.js';
import { defineExecCommand } from './defs/exec.js';
import { defineHeadersCommand } from './defs/headers.js';
import { defineLoginCommand } from './defs/login.js';
import { defineLogoutCommand } from './defs/logout.js';
import { defineMcpCommand } from './defs/mcp.js';
import { defineMdmCommand } from './defs/mdm.js';
import { defineModelsCommand } from './defs/models.js';
import { defineProxyCommand } from './defs/proxy.js';
import { defineSetupCommand } from './defs/setup.js';
import { defineStatusCommand } from './defs/status.js';
import { defineTeardownCommand } from './defs/teardown.js';
import { defineTokenCommand } from './defs/token.js';
import type { Runner } from './defs/types.js';

export type { CommandModule, DefineContext, Runner } from './defs/types.js';

export interface ProgramHooks {
  /** Called by every action with a loader for the command module and commander's action args. */
  runner: Runner;
}

export function buildProgram(io: Pick<CliIO, 'stdout' | 'stderr'>, hooks: ProgramHooks): Command {
  const program = new Command('gatepass')
    .description(
      'Bridge AI coding tools to an SSO/OIDC-protected LLM gateway: a token helper, a loopback proxy, and tool wiring.',
    )
    .version(VERSION, '-V, --version', 'print the gatepass version')
    .helpOption('-h, --help', 'show help')
    .addOption(
      new Option(
        '-v, --verbose',
        'debug logs on stderr (secrets are always redacted); also GATEPASS_VERBOSE=1',
      ),
    )
    .addOption(new Option('-q, --quiet', 'only errors on stderr'))
    .addOption(
      new Option('--config <file>', 'config file to use (default: XDG config dir; also GATEPASS_CONFIG)'),
    )
    .addOption(
      new Option('-p, --provider <name>', "provider to use (default: the config's default_provider)"),
    )
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  program.addHelpText(
    'after',
    "\nExit codes: 0 success, 1 failure, 2 usage error.\nRun `gatepass help <command>` for a command's options; full reference in docs/cli/.",
  );

  const ctx = { program, runner: hooks.runner };
  defineConfigCommand(ctx);
  defineExecCommand(ctx);
  defineEnvCommand(ctx);
  defineLoginCommand(ctx);
  defineLogoutCommand(ctx);
  defineTokenCommand(ctx);
  defineSetupCommand(ctx);
  defineTeardownCommand(ctx);
  defineStatusCommand(ctx);
  defineDoctorCommand(ctx);
  defineModelsCommand(ctx);
  defineProxyCommand(ctx);
  defineMcpCommand(ctx);
  defineHeadersCommand(ctx);
  defineMdmCommand(ctx);
  defineCompletionCommand(ctx);
  return program;
}

/** commander passes (…args, options, command); extract the global options from the command. */
export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}
export { ENV_VARS, ENV_VARS_SET, envVarsMarkdown } from './env-vars.js';
