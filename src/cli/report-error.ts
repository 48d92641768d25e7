/**
 * How a failed command is reported on stderr, and its exit code: a GatepassError's message and
 * hint (its cause with --verbose), anything else as an internal error. Without commander, so the
 * refresh fast path (fast-refresh.ts) reports exactly as the full CLI (run.ts) does.
 */
import { describeError, GatepassError } from '../errors.js';
import { redact, stripControl } from '../redact.js';

export function reportFailure(
  err: unknown,
  io: { stderr: Pick<NodeJS.WritableStream, 'write'> },
  verbose: boolean,
): number {
  if (err instanceof GatepassError) {
    io.stderr.write(`gatepass: error: ${err.message}\n`);
    if (err.hint) io.stderr.write(`hint: ${err.hint}\n`);
    if (verbose && err.cause) io.stderr.write(`cause: ${describeError(err.cause)}\n`);
    return err.exitCode;
  }
  io.stderr.write(`gatepass: internal error: ${describeError(err)}\n`);
  if (verbose && err instanceof Error && err.stack) io.stderr.write(`${redact(stripControl(err.stack))}\n`);
  else io.stderr.write('Run again with --verbose for details.\n');
  return 1;
}
