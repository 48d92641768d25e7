import { effectiveProxyPort } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { getProxyStatus, probeHealth, stopBackgroundProxy } from '../../proxy/control.js';
import { readProxyState } from '../../proxy/state.js';
import { openSecretStore } from '../../secrets/index.js';
import { getLocalProxyKey, getOrCreateLocalProxyKey } from '../../secrets/local-key.js';
import type { CliContext } from '../context.js';
import { type StartOptions, startProxyCommand } from './proxy-start.js';

/** `gatepass proxy start` from the full CLI: the config from its YAML file (proxy-start.ts does the rest). */
export function runStart(ctx: CliContext, options: StartOptions): Promise<number> {
  return startProxyCommand(ctx, options, async () => {
    const { config } = await loadConfig(ctx.paths.configFile);
    return { config, ...requireProvider(config, ctx.globals.provider, ctx.paths.configFile) };
  });
}

export async function runStop(ctx: CliContext): Promise<number> {
  const r = await stopBackgroundProxy(ctx.paths);
  if (r.stopped) {
    ctx.logger.info(
      `gatepass proxy stopped (pid ${r.pid}${r.forced ? ', killed after the grace period' : ''})`,
    );
  } else if (r.unverified) {
    ctx.logger.warn(
      `the process recorded in proxy.json (pid ${r.pid}) could not be proven to be gatepass' proxy: not signalled (removed the state file)`,
    );
  } else if (r.stale) {
    ctx.logger.info(`gatepass proxy was not running (removed a stale state file for pid ${r.pid})`);
  } else {
    ctx.logger.info('gatepass proxy is not running');
  }
  return 0;
}

/** A foreground proxy leaves no state file: look for one on the configured port. */
async function foregroundProxy(
  ctx: CliContext,
): Promise<{ port: number; pid: number; provider?: string; engine?: string } | undefined> {
  let port: number;
  try {
    port = effectiveProxyPort((await loadConfig(ctx.paths.configFile)).config);
  } catch {
    return undefined;
  }
  // The pid is only told to a client holding the local key.
  const key = await openSecretStore({ paths: ctx.paths, env: ctx.env, logger: ctx.logger })
    .then((store) => getLocalProxyKey(store))
    .catch(() => undefined);
  const h = await probeHealth(port, 500, key ? { key } : {});
  return h?.pid
    ? {
        port,
        pid: h.pid,
        ...(h.provider ? { provider: h.provider } : {}),
        ...(h.engine ? { engine: h.engine } : {}),
      }
    : undefined;
}

export async function runStatus(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const s = await getProxyStatus(ctx.paths);
  const fg = s.running ? undefined : await foregroundProxy(ctx);
  if (fg) {
    const url = `http://127.0.0.1:${fg.port}`;
    if (options.json) {
      ctx.print(
        JSON.stringify(
          {
            running: true,
            foreground: true,
            pid: fg.pid,
            port: fg.port,
            url,
            provider: fg.provider,
            ...(fg.engine ? { engine: fg.engine } : {}),
          },
          null,
          2,
        ),
      );
    } else {
      ctx.print(`running in the foreground: ${url} (pid ${fg.pid}, provider "${fg.provider ?? '?'}")`);
    }
    return 0;
  }
  if (options.json) {
    ctx.print(
      JSON.stringify(
        {
          running: s.running,
          ...(s.state
            ? {
                pid: s.state.pid,
                port: s.state.port,
                url: s.state.url,
                provider: s.state.provider,
                started_at: new Date(s.state.startedAt).toISOString(),
              }
            : {}),
          ...(s.health?.version ? { version: s.health.version } : {}),
          ...(s.health?.engine ? { engine: s.health.engine } : {}),
          ...(s.stale ? { stale: true } : {}),
        },
        null,
        2,
      ),
    );
    return 0;
  }
  if (s.running && s.state) {
    ctx.print(
      `running: ${s.state.url} (pid ${s.state.pid}, provider "${s.state.provider}", since ${new Date(s.state.startedAt).toISOString()})`,
    );
  } else if (s.state) {
    ctx.print(`not running (stale state file for pid ${s.state.pid}; \`gatepass proxy stop\` removes it)`);
  } else {
    ctx.print('not running');
  }
  return 0;
}

/**
 * `gatepass proxy key`: the local proxy key on stdout (nothing else there), for a tool gatepass does
 * not wire; made now when setup has not made one yet. On a terminal a warning goes to stderr.
 */
export async function runKey(ctx: CliContext): Promise<number> {
  const store = await openSecretStore({ paths: ctx.paths, env: ctx.env, logger: ctx.logger });
  const key = await getOrCreateLocalProxyKey(store);
  if ((ctx.stdout as { isTTY?: boolean }).isTTY) {
    ctx.logger.warn(
      'this key lets a client use your gateway token through the local proxy: keep it in files only you can read (0600), never in a shared or committed file',
    );
  }
  ctx.stdout.write(`${key}\n`);
  return 0;
}

/** The service environment of this CLI run (the real platform, the caller's environment). */
async function serviceEnv(ctx: CliContext) {
  const { runEnvFrom } = await import('./runenv.js');
  const run = runEnvFrom(ctx);
  return { platform: run.platform, home: run.home, env: ctx.env, paths: ctx.paths };
}

/**
 * `gatepass proxy install`: a per-user service running `gatepass proxy start` at login (systemd user
 * unit, launchd agent, Scheduled Task), replacing a background proxy on the same port.
 */
export async function runInstall(ctx: CliContext): Promise<number> {
  const { installService, processRunner, reportInstall } = await import('../../setup/service.js');
  const { writeLauncher } = await import('../../tools/launcher.js');
  const { resolveSelf } = await import('../../tools/self.js');
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  const senv = await serviceEnv(ctx);
  // The service starts gatepass through the launcher, as the tools do: make sure it exists.
  await writeLauncher(ctx.paths.dataDir, resolveSelf(), senv.platform);
  const state = await readProxyState(ctx.paths);
  if (state && state.port === effectiveProxyPort(config)) {
    const r = await stopBackgroundProxy(ctx.paths);
    if (r.stopped) ctx.logger.info(`Stopped the background proxy (pid ${r.pid}): the service replaces it.`);
  }
  const r = await installService(senv, name, {
    run: processRunner(ctx.env),
    logger: ctx.logger,
    installedBy: 'install',
  });
  reportInstall(ctx.logger, r);
  ctx.print(r.file);
  return 0;
}

/** `gatepass proxy uninstall`: stop, unregister and remove the service `proxy install` wrote. */
export async function runUninstall(ctx: CliContext): Promise<number> {
  const { processRunner, uninstallService } = await import('../../setup/service.js');
  const r = await uninstallService(await serviceEnv(ctx), {
    run: processRunner(ctx.env),
    logger: ctx.logger,
  });
  if (r.removed) ctx.logger.info(`Removed the gatepass proxy service (${r.file}).`);
  else ctx.logger.info('No gatepass proxy service is installed.');
  return 0;
}
