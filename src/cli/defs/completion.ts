import { Argument } from 'commander';
import { SHELLS } from '../completion.js';
import type { DefineContext } from './types.js';

export function defineCompletionCommand({ program, runner }: DefineContext): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh, fish or PowerShell)')
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices([...SHELLS]))
    .addHelpText(
      'after',
      `
Load it in the current shell, or add the line to the shell's startup file:
  bash:        source <(gatepass completion bash)          (~/.bashrc)
  zsh:         source <(gatepass completion zsh)           (~/.zshrc, after compinit)
  fish:        gatepass completion fish | source           (~/.config/fish/config.fish)
  PowerShell:  gatepass completion powershell | Out-String | Invoke-Expression   ($PROFILE)`,
    )
    // The script is generated from this very command tree (the one docs/cli is rendered from).
    .action((shell: string, _options: unknown, command: unknown) =>
      runner(() => import('../commands/completion.js'), [shell, program, command]),
    );
}
