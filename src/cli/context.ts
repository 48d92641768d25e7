/**
 * The injected context every command runs with: streams, environment, paths, logger, clock. Commands
 * never touch `process` directly, so tests can run them in-process with fakes and the CLI stays a
 * thin composition root.
 */
import { type GatepassPaths, resolvePaths } from '../config/paths.js';
import { UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { envBool } from '../util/env.js';
import { checkEnvironment } from './env-check.js';

export interface GlobalOptions {
  verbose?: boolean;
  quiet?: boolean;
  config?: string;
  provider?: string;
}

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export interface CliContext extends CliIO {
  globals: GlobalOptions;
  paths: GatepassPaths;
  logger: Logger;
  /** True when a human is at the terminal (stdin and stderr are TTYs). */
  interactiveTerminal: boolean;
  /** Print a line of command output on stdout. */
  print(line: string): void;
}

export function defaultIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: Date.now,
  };
}

export function createContext(io: CliIO, globals: GlobalOptions): CliContext {
  if (globals.verbose && globals.quiet)
    throw new UsageError('--verbose and --quiet contradict each other; pass one of them');
  checkEnvironment(io.env);
  const verbose = Boolean(globals.verbose) || envBool(io.env, 'GATEPASS_VERBOSE') === true;
  return {
    ...io,
    globals,
    paths: resolvePaths({ env: io.env, configOverride: globals.config }),
    logger: createLogger({ verbose, quiet: Boolean(globals.quiet), stream: io.stderr }),
    interactiveTerminal: Boolean(io.stdin.isTTY && io.stderr.isTTY),
    print(line: string) {
      io.stdout.write(`${line}\n`);
    },
  };
}
