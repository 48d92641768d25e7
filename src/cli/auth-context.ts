/** Build the AuthContext for a CLI command from its CliContext. */
import { createBrowserOpener } from '../auth/browser.js';
import type { AuthContext, BrowserOpener } from '../auth/types.js';
import type { GatepassConfig } from '../config/schema.js';
import { openSecretStore } from '../secrets/index.js';
import type { CliContext } from './context.js';

export interface AuthContextOptions {
  config: GatepassConfig;
  interactive: boolean;
  skipBrowser?: boolean;
  openBrowser?: BrowserOpener;
}

export async function buildAuthContext(ctx: CliContext, options: AuthContextOptions): Promise<AuthContext> {
  const secrets = await openSecretStore({ paths: ctx.paths, env: ctx.env, logger: ctx.logger });
  return {
    config: options.config,
    configFile: ctx.paths.configFile,
    paths: ctx.paths,
    logger: ctx.logger,
    env: ctx.env,
    now: ctx.now,
    secrets,
    interactive: options.interactive,
    skipBrowser: options.skipBrowser ?? false,
    stderr: ctx.stderr,
    stdin: ctx.stdin,
    // GATEPASS_BROWSER=<command> or the OS opener (lazily imported `open`).
    openBrowser: options.openBrowser ?? createBrowserOpener(ctx.env),
  };
}
