/**
 * The composition root: parse argv with the command tree, lazily import the chosen command, run it
 * with an injected context, and map every outcome to an exit code (0 ok, 1 failure, 2 usage).
 */
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { type CliIO, createContext } from './context.js';
import { buildProgram, type CommandModule, globalsOf } from './program.js';
import { checkProviderExists } from './provider-check.js';
import { reportFailure } from './report-error.js';

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let exitCode = 0;
  let verbose = false;
  const runner = async (load: () => Promise<CommandModule>, args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = globalsOf(command);
    const ctx = createContext(io, globals);
    verbose = ctx.logger.verbose;
    ctx.logger.debug(`gatepass ${command.name()}: config file ${ctx.paths.configFile}`);
    const name = command.parent?.parent ? `${command.parent.name()} ${command.name()}` : command.name();
    await checkProviderExists(name, globals.provider, ctx.paths.configFile);
    const mod = await load();
    const result = await (mod.run as (...a: unknown[]) => Promise<number | undefined>)(
      ctx,
      ...args.slice(0, -1),
    );
    exitCode = typeof result === 'number' ? result : 0;
  };
  const program = buildProgram(io, { runner });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io, verbose || /^(1|true|yes)$/i.test(io.env['GATEPASS_VERBOSE'] ?? ''));
  }
}

export function reportError(err: unknown, io: Pick<CliIO, 'stderr'>, verbose: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    // `gatepass help` asked for help (exit code 0); a group without its subcommand (`gatepass
    // config`) or `gatepass help nosuch` printed help as an error (commander's exit code 1): usage.
    if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
    // commander already printed the message.
    return err.code === 'commander.executeSubCommandAsync' ? 1 : 2;
  }
  return reportFailure(err, io, verbose);
}
