/**
 * The stderr logger. Everything gatepass says to a human goes to stderr through here (stdout is
 * reserved for command output such as `gatepass token`), and every line is redacted and stripped of
 * control characters and escape sequences (a message may quote server text).
 */
import { redact, stripControl } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  readonly verbose: boolean;
}

export interface LoggerOptions {
  verbose?: boolean;
  quiet?: boolean;
  stream?: NodeJS.WritableStream;
  /** Prefix for warn/error lines; defaults to "gatepass". */
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const verbose = options.verbose ?? false;
  const quiet = options.quiet ?? false;
  const name = options.name ?? 'gatepass';
  const write = (line: string) => {
    stream.write(`${redact(stripControl(line))}\n`);
  };
  return {
    verbose,
    debug(message) {
      if (verbose) write(`${name}: debug: ${message}`);
    },
    info(message) {
      if (!quiet) write(message);
    },
    warn(message) {
      write(`${name}: warning: ${message}`);
    },
    error(message) {
      write(`${name}: error: ${message}`);
    },
  };
}

/** A logger that drops everything: for library callers and tests that do not care. */
export const silentLogger: Logger = {
  verbose: false,
  debug() {},
  info() {},
  warn() {},
  error() {},
};
