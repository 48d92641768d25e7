/**
 * The fill-in of models a lazy setup deferred (lazy-models.ts records `models_pending`): after the
 * first successful full-path token — `gatepass token` past its fast path, the proxy, or `gatepass
 * login` (after which tokens may come from the fast path) — the
 * gateway's list is read with that token and, when it has models, setup runs again for the tools
 * wired to that provider (same plan, journal and rollback; never a login; model keys the user set in
 * a tool's file kept), which saves the list as discovered. Nothing goes to stdout; one line on
 * stderr says what happened. A gateway without the endpoint ends the wait too; a failure (network)
 * leaves it pending for the next full-path token.
 */
import path from 'node:path';
import type { AuthContext, TokenSource } from '../auth/types.js';
import { loadConfig, updateConfig } from '../config/store.js';
import { AuthError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { TOOLS } from '../tools/index.js';
import { homeOf, type RunEnv, toolEnv } from './common.js';
import { gatewayFetch, listModels } from './models.js';

/** A logger for setup run inside `gatepass token` / the proxy: its chatter only with -v. */
function quietLogger(logger: Logger): Logger {
  return {
    verbose: logger.verbose,
    debug: (m) => logger.debug(m),
    info: (m) => logger.debug(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
  };
}

function runEnvOf(ctx: AuthContext): RunEnv {
  return {
    paths: ctx.paths,
    env: ctx.env,
    home: homeOf(ctx.env),
    platform: process.platform,
    logger: quietLogger(ctx.logger),
    out: (line) => ctx.logger.debug(line), // never stdout
    stderr: ctx.stderr,
    now: ctx.now,
  };
}

async function clearPending(file: string, name: string): Promise<void> {
  await updateConfig(file, (cfg) => {
    const p = cfg.providers[name];
    if (p) delete p.models_pending;
  });
}

/**
 * After a successful full-path token: fill in the models a lazy setup deferred (once). Never throws:
 * a failure is one warning on stderr (and the next full-path token tries again).
 */
export async function fillPendingModels(ctx: AuthContext, name: string, token: string): Promise<void> {
  const peek = (await loadConfig(ctx.configFile).catch(() => undefined))?.config.providers[name];
  if (peek?.models_pending !== true) return;
  const { withFileLock } = await import('../util/lock.js');
  try {
    await withFileLock(path.join(ctx.paths.stateDir, 'lazy-models'), () => fillLocked(ctx, name, token));
  } catch (err) {
    ctx.logger.warn(
      `could not fill in the gateway's models deferred by the lazy setup (${describeError(err)}); the next sign-in or refresh tries again, or run \`gatepass setup\``,
    );
  }
}

async function fillLocked(ctx: AuthContext, name: string, token: string): Promise<void> {
  // Another process may have done it while this one waited for the lock.
  const { config } = await loadConfig(ctx.configFile);
  const provider = config.providers[name];
  if (provider?.models_pending !== true) return;
  const userChosen = Boolean(provider.models?.length) && provider.models_discovered !== true;
  const listing = userChosen ? undefined : await listModels(provider, token, gatewayFetch(provider, ctx.env));
  if (!listing?.models.length) {
    await clearPending(ctx.configFile, name);
    ctx.logger.info(
      userChosen
        ? 'gatepass: the models you chose are kept (the lazy setup deferred no discovery over them).'
        : `gatepass: the gateway lists no models (${listing ? 'an empty list' : 'no /v1/models endpoint'}); the tools keep their own model settings.`,
    );
    return;
  }
  const run = runEnvOf(ctx);
  const tenv = toolEnv(run);
  const ids: string[] = [];
  for (const entry of config.configured_tools) {
    const tool = TOOLS.find((t) => t.id === entry.tool);
    if (tool && (entry.provider ?? config.default_provider) === name && (await tool.detect(tenv)))
      ids.push(tool.id);
  }
  if (!ids.length) {
    // No tool of this provider to fill in: the list is saved for the next setup.
    await updateConfig(ctx.configFile, (cfg) => {
      const p = cfg.providers[name];
      if (!p) return;
      p.models = listing.models;
      p.models_discovered = true;
      delete p.models_pending;
    });
    ctx.logger.info(
      `gatepass: saved the gateway's ${listing.models.length} model(s) (deferred by the lazy setup).`,
    );
    return;
  }
  const { runSetup } = await import('./setup.js');
  await runSetup(run, {
    provider: name,
    tools: ids,
    keepUserModels: true,
    // The token was just acquired: setup reuses it. It must never start a sign-in of its own.
    login: async () => {
      throw new AuthError('E_AUTH_REQUIRED', 'no usable token for the deferred model discovery');
    },
  });
  await clearPending(ctx.configFile, name);
  ctx.logger.info(
    `gatepass: filled in the gateway's ${listing.models.length} model(s) for ${ids.join(', ')} (deferred by the lazy setup).`,
  );
}

/**
 * The proxy's token source, filling pending models in after its first successful token (in the
 * background: requests never wait for it).
 */
export function withPendingModels(ctx: AuthContext, source: TokenSource): TokenSource {
  let done = false;
  return {
    providerName: source.providerName,
    invalidate: (token) => source.invalidate(token),
    async getToken(request) {
      const result = await source.getToken(request);
      if (!done) {
        done = true;
        void fillPendingModels(ctx, source.providerName, result.token);
      }
      return result;
    },
  };
}
