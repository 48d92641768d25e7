import { Option } from 'commander';
import { FIELDS } from '../../config/validate.js';
import type { DefineContext } from './types.js';

export function defineConfigCommand({ program, runner }: DefineContext): void {
  const config = program
    .command('config')
    .description("show and change gatepass' configuration")
    .addHelpText(
      'after',
      `
Keys:
${FIELDS.map((f) => `  ${f.key.padEnd(22)} ${f.description}${f.providerType ? ` [${f.providerType} providers]` : ''}`).join('\n')}

Provider keys apply to the provider named by --provider (default: the default provider).`,
    );

  const set = config
    .command('set')
    .description('set configuration values, as flags or as KEY VALUE pairs')
    .argument('[key-value...]', 'alternating KEY VALUE pairs, e.g. `oidc.issuer https://sso.example.com`');
  for (const f of FIELDS) {
    const placeholder =
      f.kind === 'port' || f.kind === 'seconds' || f.kind === 'callback_port'
        ? 'n'
        : f.kind === 'scopes'
          ? 'scopes'
          : 'value';
    // A boolean flag alone means true (`--tls-skip-verify`); `--tls-skip-verify false` clears it.
    // The client secret is read from stdin, never taken from argv (other users can read argv).
    const arg = f.kind === 'secret_ref' ? '' : f.kind === 'boolean' ? ' [bool]' : ` <${placeholder}>`;
    set.addOption(new Option(`${f.flag}${arg}`, `${f.key}: ${f.description}`));
  }
  set.addHelpText(
    'after',
    `
Examples:
  gatepass config set --gateway-url https://llm.example.com --issuer https://sso.example.com --client-id gatepass
  gatepass config set oidc.audience llm-gateway
  printf %s "$SECRET" | gatepass config set --client-secret-stdin --auth-params 'access_type=offline&prompt=consent'
  gatepass config set --egress-proxy http://proxy.corp.example:3128 --egress-no-proxy '.corp.example,10.0.0.0/8'
  gatepass config set --provider corp --type command --gateway-url https://llm.corp.example.com --token-command "corp-auth token"`,
  );
  set.action((...args) =>
    runner(() => import('../commands/config.js').then((m) => ({ run: m.runSet })), args),
  );

  config
    .command('unset')
    .description('remove configuration values (or a whole provider with --all)')
    .argument('[keys...]', 'keys to remove, e.g. oidc.audience')
    .option('--all', 'remove the whole provider selected by --provider')
    .action((...args) =>
      runner(() => import('../commands/config.js').then((m) => ({ run: m.runUnset })), args),
    );

  config
    .command('show')
    .description('print the configuration (never any secret); with --provider NAME, only that provider')
    .option('--json', 'machine-readable JSON')
    .action((...args) =>
      runner(() => import('../commands/config.js').then((m) => ({ run: m.runShow })), args),
    );

  config
    .command('path')
    .description('print the path of the config file')
    .action((...args) =>
      runner(() => import('../commands/config.js').then((m) => ({ run: m.runPath })), args),
    );
}
