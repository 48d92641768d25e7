/** The full CLI (commander tree, every command): what `gatepass` runs unless the token fast path served. */
import { describeError } from '../errors.js';
import { defaultIO } from './context.js';
import { runCli } from './run.js';

export async function runFullCli(argv: string[]): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    process.exitCode = await runCli(argv, defaultIO());
  } catch (err) {
    process.stderr.write(`gatepass: internal error: ${describeError(err)}\n`);
    process.exitCode = 1;
  }
}
