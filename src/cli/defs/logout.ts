import type { DefineContext } from './types.js';

export function defineLogoutCommand({ program, runner }: DefineContext): void {
  program
    .command('logout')
    .description("delete the provider's stored tokens, revoking the refresh token at the IdP when it can")
    .option('--no-revoke', 'only delete local tokens; do not contact the identity provider')
    .action((...args) => runner(() => import('../commands/logout.js'), args));
}
