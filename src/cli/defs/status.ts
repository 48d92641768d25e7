import type { DefineContext } from './types.js';

export function defineStatusCommand({ program, runner }: DefineContext): void {
  program
    .command('status')
    .description('show configuration, login state, tool wiring and the proxy (never a secret)')
    .option('--json', 'machine-readable JSON')
    .action((...args) => runner(() => import('../commands/status.js'), args));
}
