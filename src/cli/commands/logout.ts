import { logoutProvider } from '../../auth/login.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

export async function run(ctx: CliContext, options: { revoke?: boolean }): Promise<number> {
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  const auth = await buildAuthContext(ctx, { config, interactive: false });
  const result = await logoutProvider(auth, name, provider, { revoke: options.revoke !== false });
  if (!result.deleted && !result.revoked) {
    ctx.logger.info(`Not logged in (provider "${name}"): nothing to delete`);
  } else {
    ctx.logger.info(
      `Logged out of provider "${name}"${result.revoked ? ' (the identity provider revoked its refresh token)' : ''}`,
    );
  }
  return 0;
}
