import type { Command } from 'commander';
import { FIELDS } from '../../config/validate.js';
import { TOOL_IDS } from '../../tools/ids.js';
import { completionScript, completionSpec, type Shell, type ValueHints } from '../completion.js';
import type { CliContext } from '../context.js';

/** Value lists for arguments the definitions take as free text. */
const HINTS: ValueHints = {
  '--tools': [...TOOL_IDS],
  '--ca-file': 'file',
  '--token-cache': 'file',
  teardown: [...TOOL_IDS],
  'config unset': FIELDS.map((f) => f.key),
};

export async function run(ctx: CliContext, shell: Shell, program: Command): Promise<number> {
  ctx.stdout.write(completionScript(shell, completionSpec(program, HINTS)));
  return 0;
}
