/**
 * What the command definitions (defs/) and the program (program.ts) share: the runner that lazily
 * loads a command's implementation, and the context every `define…Command` gets. Its own module so
 * the definitions never import program.ts, which imports them.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export type Runner = (load: () => Promise<CommandModule>, args: unknown[]) => Promise<void>;

/** What a lazily imported command module exports. */
export interface CommandModule {
  run(ctx: CliContext, ...args: never[]): Promise<number | undefined>;
}

export interface DefineContext {
  program: Command;
  runner: Runner;
}
