import { TOOL_IDS } from '../../tools/ids.js';
import type { DefineContext } from './types.js';

export function defineTeardownCommand({ program, runner }: DefineContext): void {
  program
    .command('teardown')
    .description('undo what setup changed in each tool, delete cached tokens and stop a background proxy')
    .argument('[tool]', `a single tool to unconfigure (${TOOL_IDS.join(', ')})`)
    .option('--tools <list>', 'comma-separated tools to unconfigure (default: all configured ones)')
    .option('--purge-tokens', 'delete (and revoke) cached tokens, also when only some tools are unconfigured')
    .option('--keep-tokens', 'keep cached tokens')
    .option('--dry-run', 'print what would be restored (a diff per file) and change nothing')
    .action((...args) => runner(() => import('../commands/teardown.js'), args));
}
