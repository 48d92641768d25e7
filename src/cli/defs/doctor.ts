import { CA_FILE_FLAG_HELP, SKIP_VERIFY_FLAG_HELP } from '../tls-flags.js';
import type { DefineContext } from './types.js';

export function defineDoctorCommand({ program, runner }: DefineContext): void {
  program
    .command('doctor')
    .description(
      'check config, network (egress proxy, DNS, TCP, TLS), IdP discovery, token, gateway, tools and proxy for the provider',
    )
    .option('--json', 'machine-readable JSON: { provider, checks: [{ id, status, summary, fix? }] }')
    .option('--ca-file <file>', CA_FILE_FLAG_HELP)
    .option('--tls-skip-verify', SKIP_VERIFY_FLAG_HELP)
    .addHelpText(
      'after',
      `
Checks, in order: config (valid, owned by you), egress_proxy (which proxy each host goes through),
dns, tcp, tls (trust; --ca-file for a corporate CA), discovery (issuer match), scopes (vs the IdP's
scopes_supported), callback_port (free, unless 0), secret_store, token (presence, expiry, aud/scope
claims; never the token), gateway (GET <gateway>/v1/models with the stored or refreshed token),
helpers (each wired tool's token helper starts), proxy (running and healthy when a tool needs it).
Each is pass, warn, fail or skip (does not apply), with a one-line fix. Doctor never opens a
browser or starts a login (a command provider's token_command runs non-interactively, as for a
tool). Exit code 1 when any check fails, else 0.

Examples:
  gatepass doctor
  gatepass --provider corp doctor --json
  gatepass doctor --ca-file /etc/ssl/corp-ca.pem`,
    )
    .action((...args) => runner(() => import('../commands/doctor.js'), args));
}
