import { Option } from 'commander';
import type { DefineContext } from './types.js';

export function defineMdmCommand({ program, runner }: DefineContext): void {
  const mdm = program
    .command('mdm')
    .description('fleet deployment: print a managed configuration for MDM tools');
  mdm
    .command('print')
    .description('print a managed configuration for the selected provider (its settings, locked)')
    .addOption(
      new Option('-f, --format <format>', 'payload format')
        .choices(['yaml', 'mobileconfig', 'reg'])
        .default('yaml'),
    )
    .addHelpText(
      'after',
      `
Formats:
  yaml          the managed config file: install it as /etc/gatepass/config.yaml (Linux),
                /Library/Application Support/gatepass/config.yaml (macOS) or
                %ProgramData%\\gatepass\\config.yaml (Windows), owned by root/Administrators
  mobileconfig  a macOS configuration profile carrying the same keys (payload type dev.gatepass.cli)
  reg           a Windows .reg file carrying the same keys under HKLM\\SOFTWARE\\Policies\\gatepass

gatepass reads the YAML file, on macOS the managed preferences the profile installs
(/Library/Managed Preferences/dev.gatepass.cli.plist) and on Windows the policy registry key the
.reg file creates (read with \`reg query\`); both win over the YAML file when present.
The output holds the provider's settings and a locked: list (gateway_url and the issuer and
client ID, or the token command); never a token, a login state or your wired tools.`,
    )
    .action((...args) => runner(() => import('../commands/mdm.js'), args));
}
