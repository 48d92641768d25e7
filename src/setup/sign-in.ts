/**
 * Setup step 5, sign in (unless `--lazy`), before anything is written: reuse a cached or refreshable
 * token, check an `auth.env_var`, or log in. A failed or interrupted login (Ctrl-C while waiting for
 * the browser) leaves the config and every tool file exactly as they were. With a token, the
 * gateway's models are listed, then every file is planned again against what is there now.
 */
import { loginProvider } from '../auth/login.js';
import type { AuthContext } from '../auth/types.js';
import type { CommandProvider, OidcProvider, Provider } from '../config/schema.js';
import { AuthError, describeError } from '../errors.js';
import { readTextIfExists } from '../util/fs.js';
import { authContext, openStore, type RunEnv } from './common.js';
import { restoreConfig } from './journal.js';
import { discoverModelsStep } from './models.js';
import { planTools } from './plan.js';
import type { SetupConfig, SetupOptions, SetupPlan, SignedIn, Wiring } from './setup-state.js';

/**
 * Sign in (or not, with `--lazy`) and re-plan `plan.planned`. The login may record token_ref in an
 * existing config file, so the file is captured before it; a failure puts it back.
 */
export async function signIn(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  wiring: Wiring,
  plan: SetupPlan,
): Promise<SignedIn> {
  const { file, merged, providerName, provider, assignments } = config;
  const configBefore = await readTextIfExists(file);
  if (options.lazy) return { configBefore, loggedIn: false, tokenRef: undefined };
  const ctx = authContext(run, merged, wiring.store ?? (await openStore(run)), {
    interactive: true,
    skipBrowser: options.skipBrowser ?? false,
  });
  const refBefore = provider.type === 'oidc' ? provider.token_ref : undefined;
  let loggedIn: boolean;
  try {
    loggedIn = await signInOrReuse(run, options, config, ctx);
  } catch (err) {
    run.logger.warn(`sign-in failed; setup changed nothing (${describeError(err)})`);
    await restoreConfig(file, configBefore);
    throw err;
  }
  let tokenRef: OidcProvider['token_ref'];
  // The OIDC login records a new token reference on the provider it was given.
  if (provider.type === 'oidc' && provider.token_ref && provider.token_ref !== refBefore)
    tokenRef = { ...provider.token_ref };
  // With a token: the gateway's models, unless the user chose them (see models.ts).
  if (loggedIn) {
    const found = await discoverModelsStep(run, ctx, providerName, provider, {
      auto: options.modelsAuto === true,
      explicit: assignments.some((a) => a.spec.key === 'models'),
    });
    if (found.models) Object.assign(wiring.params, { models: found.models, modelTiers: true });
    wiring.toPersist.push(...found.persist);
  }
  // The files may have changed while the user was in the browser: plan against what is there now.
  plan.planned = await planTools(
    run,
    config,
    plan.tools,
    wiring.params,
    plan.backupsBefore,
    wiring.keepUserModels,
  ).catch(async (err: unknown) => {
    await restoreConfig(file, configBefore);
    throw err;
  });
  return { configBefore, loggedIn, tokenRef };
}

/** True once signed in (or a token is there); false: an `auth.env_var` not set here. */
async function signInOrReuse(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  ctx: AuthContext,
): Promise<boolean> {
  const { providerName, provider } = config;
  const gatewayUrl = provider.gateway_url!;
  if (provider.type === 'command' && !provider.auth.token_command) {
    // Nothing to sign in with: the token comes from auth.env_var, set where the tools run.
    return checkEnvToken(run, ctx, providerName, provider);
  }
  if (await hasUsableToken(ctx, providerName, provider)) {
    // Re-running setup: a cached or refreshable token is reused, no browser, no token command.
    run.logger.info(`Already signed in to ${gatewayUrl} (provider "${providerName}").`);
    return true;
  }
  const login = options.login ?? loginProvider;
  run.logger.info(`Signing in to ${gatewayUrl} (provider "${providerName}")…`);
  await login(ctx, providerName, provider, {});
  run.logger.info('Signed in.');
  return true;
}

/**
 * A command provider with only auth.env_var: setup cannot fetch anything, it checks the variable.
 * Unset here is no failure (CI and shells set it later, where the tools run); a value that can never
 * be a token is.
 */
async function checkEnvToken(
  run: RunEnv,
  ctx: AuthContext,
  name: string,
  provider: CommandProvider,
): Promise<boolean> {
  const variable = provider.auth.env_var!;
  const { createCommandTokenSource } = await import('../auth/command/source.js');
  try {
    const { origin } = await createCommandTokenSource(ctx, name, provider).getToken({ interactive: false });
    run.logger.info(
      origin === 'env'
        ? `Provider "${name}" takes its token from the environment variable ${variable}, which is set.`
        : `Provider "${name}" has a cached token; later ones come from the environment variable ${variable}.`,
    );
    return true;
  } catch (err) {
    if (!(err instanceof AuthError) || err.code !== 'E_AUTH_REQUIRED') throw err;
    run.logger.warn(
      `provider "${name}" takes its token from the environment variable ${variable}, which is not set here: set it where the configured tools run (or configure auth.token_command)`,
    );
    return false;
  }
}

/**
 * Is there a token setup can reuse instead of signing in? OIDC: cached, or refreshable with the
 * stored refresh token (never a login: the request is not interactive). Command providers: the
 * cache or the environment only (the token command is their login). A logged-out provider has none.
 */
async function hasUsableToken(ctx: AuthContext, name: string, provider: Provider): Promise<boolean> {
  const { createTokenSource } = await import('../auth/factory.js');
  try {
    const source = await createTokenSource(ctx, name, provider);
    await source.getToken({
      interactive: false,
      ...(provider.type === 'command' ? { cacheOnly: true } : {}),
    });
    return true;
  } catch (err) {
    ctx.logger.debug(`no reusable token for provider "${name}": ${describeError(err)}`);
    return false;
  }
}
