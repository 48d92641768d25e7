import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTokenSource } from '../../auth/factory.js';
import { loginTimeoutMs } from '../../auth/oidc/source.js';
import { DEFAULT_COMMAND_TIMEOUT_S, effectiveProxyPort } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { ProxyError, UsageError } from '../../errors.js';
import { displayProxy, egressPlan } from '../../net/egress.js';
import { resolveTls, warnSkipVerify } from '../../net/tls.js';
import { getProxyStatus, probeHealth, provesIdentity, stopBackgroundProxy } from '../../proxy/control.js';
import { createErrorLog, rotateIfLarge } from '../../proxy/error-log.js';
import { DEFAULT_TOKEN_WAIT_MS, loginBudgetMs, startProxy } from '../../proxy/server.js';
import {
  NONCE_ENV,
  processStartTicks,
  readProxyState,
  removeProxyState,
  writeProxyState,
} from '../../proxy/state.js';
import { openSecretStore } from '../../secrets/index.js';
import { getLocalProxyKey, getOrCreateLocalProxyKey } from '../../secrets/local-key.js';
import { ensurePrivateDir, PRIVATE_DIR_MODE } from '../../util/fs.js';
import { IS_SEA } from '../../util/sea.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';
import { applyTlsFlags } from '../tls-flags.js';

interface StartOptions {
  port?: string;
  background?: boolean;
  skipBrowser?: boolean;
  caFile?: string;
  tlsSkipVerify?: boolean;
}

function parsePort(value: string | undefined, background: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  const min = background ? 1 : 0;
  if (!Number.isInteger(n) || n < min || n > 65535) {
    throw new UsageError(`--port must be a number from ${min} to 65535, got "${value}"`);
  }
  return n;
}

export async function runStart(ctx: CliContext, options: StartOptions): Promise<number> {
  // A background proxy's nonce (from its parent): kept in memory only, taken out of the environment
  // before anything (a token_command) could inherit it.
  const nonce = ctx.env[NONCE_ENV];
  delete ctx.env[NONCE_ENV];
  delete process.env[NONCE_ENV];
  const background = Boolean(options.background);
  const portFlag = parsePort(options.port, background);
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  applyTlsFlags(provider, options);
  if (provider.tls?.skip_verify) warnSkipVerify(ctx.stderr, `proxy to ${provider.gateway_url}`);
  const port = portFlag ?? effectiveProxyPort(config);
  if (background) {
    // The child re-reads the config; one-off TLS flags travel on its command line.
    const tlsArgs = [
      ...(options.caFile !== undefined ? ['--ca-file', provider.tls!.ca_file!] : []),
      ...(options.tlsSkipVerify ? ['--tls-skip-verify'] : []),
    ];
    return startBackground(ctx, {
      port,
      provider: name,
      skipBrowser: Boolean(options.skipBrowser),
      extraArgs: tlsArgs,
    });
  }

  const auth = await buildAuthContext(ctx, {
    config,
    interactive: true,
    skipBrowser: Boolean(options.skipBrowser),
  });
  let tokenSource = await createTokenSource(auth, name, provider);
  // A lazy setup's deferred model discovery, after the first token (lazy-fill.ts).
  if (provider.models_pending)
    tokenSource = (await import('../../setup/lazy-fill.js')).withPendingModels(auth, tokenSource);
  const localKey = await getOrCreateLocalProxyKey(auth.secrets);
  const tls = resolveTls(provider.tls, ctx.env);
  // HTTPS_PROXY / network.proxy for the gateway hop (NO_PROXY and loopback gateways go direct).
  const egressProxy = egressPlan(provider.network, ctx.env).proxyFor(provider.gateway_url!);
  if (egressProxy) ctx.logger.debug(`proxy: gateway requests go through ${displayProxy(egressProxy)}`);
  // The background proxy (it has a nonce) records the errors it makes in proxy.log, without -v.
  const isChild = Boolean(nonce && /^[0-9a-f]{32,128}$/.test(nonce));
  // #20 MCP hook: the `/mcp/NAME` route for the MCP servers added for this provider.
  const mcp = await (await import('../../mcp/proxy-option.js')).mcpProxyRoute(
    auth,
    config,
    name,
    provider,
    tokenSource,
    ctx.logger,
  );
  const proxy = await startProxy({
    ...(mcp ? { mcp } : {}),
    ...(isChild
      ? { controlNonce: nonce!, errorLog: createErrorLog(path.join(ctx.paths.stateDir, 'proxy.log')) }
      : {}),
    ...(tls ? { tls } : {}),
    ...(egressProxy ? { egressProxy } : {}),
    tokenSource,
    gatewayUrl: provider.gateway_url!,
    pathPrefixes: {
      ...(provider.anthropic_path_prefix ? { anthropic: provider.anthropic_path_prefix } : {}),
      ...(provider.openai_path_prefix ? { openai: provider.openai_path_prefix } : {}),
    },
    port,
    localKey,
    logger: ctx.logger,
    providerName: name,
    interactive: true,
    // A request waiting for a lazy login is never cut off before the login's own timeout.
    tokenWaitMs: Math.max(
      DEFAULT_TOKEN_WAIT_MS,
      loginBudgetMs(
        provider.type === 'command'
          ? (provider.auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000
          : loginTimeoutMs(ctx.env),
      ),
    ),
  });
  ctx.logger.info(
    `gatepass proxy listening on ${proxy.url} (provider "${name}", gateway ${new URL(provider.gateway_url!).origin})`,
  );
  ctx.logger.debug(`proxy: bound ${proxy.addresses.join(', ')}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second Ctrl-C while draining exits at once. Some listener must stay for SIGTERM too:
      // signal-exit (loaded by the file lock after a login) re-raises a signal nobody else handles,
      // which would kill the proxy mid-drain.
      process.once('SIGINT', () => process.exit(130));
      process.on('SIGTERM', () => {});
      resolve(s);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  ctx.logger.info(`gatepass proxy: ${signal}, shutting down`);
  await proxy.close(5_000);
  const state = await readProxyState(ctx.paths);
  if (state?.pid === process.pid) await removeProxyState(ctx.paths);
  return 0;
}

interface BackgroundOptions {
  port: number;
  provider: string;
  skipBrowser: boolean;
  extraArgs?: string[];
}

async function startBackground(ctx: CliContext, options: BackgroundOptions): Promise<number> {
  const existing = await getProxyStatus(ctx.paths);
  if (existing.running && existing.state) {
    if (existing.state.port === options.port && existing.state.provider === options.provider) {
      ctx.logger.info(`gatepass proxy already running (pid ${existing.state.pid})`);
      ctx.print(existing.state.url);
      return 0;
    }
    throw new ProxyError(
      'E_PROXY',
      `a gatepass proxy already runs on port ${existing.state.port} (pid ${existing.state.pid})`,
      {
        hint: 'stop it first with `gatepass proxy stop`',
      },
    );
  }
  if (await probeHealth(options.port, 500)) {
    throw new ProxyError(
      'E_PORT_IN_USE',
      `a gatepass proxy not started in the background already answers on port ${options.port}`,
      {
        hint: 'stop it (Ctrl-C in its terminal), or choose another port with --port',
      },
    );
  }

  // GATEPASS_STATE_DIR names a directory of the user's: create it private, never chmod it.
  await ensurePrivateDir(ctx.paths.stateDir, PRIVATE_DIR_MODE, {
    tightenExisting: !ctx.env['GATEPASS_STATE_DIR'],
  });
  const logFile = path.join(ctx.paths.stateDir, 'proxy.log');
  rotateIfLarge(logFile);
  const fd = openSync(logFile, 'a', 0o600);
  const args = [process.argv[1]!, '--config', ctx.paths.configFile, '--provider', options.provider];
  if (IS_SEA) args.shift(); // the single executable is the program itself, with no script argument
  if (ctx.logger.verbose) args.push('--verbose');
  args.push('proxy', 'start', '--port', String(options.port));
  if (options.skipBrowser) args.push('--skip-browser');
  if (options.extraArgs) args.push(...options.extraArgs);
  const nonce = randomBytes(32).toString('hex');
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...ctx.env, [NONCE_ENV]: nonce },
    cwd: ctx.paths.stateDir,
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const pid = child.pid;
  if (pid === undefined) throw new ProxyError('E_PROXY', 'could not start the background proxy');

  const deadline = ctx.now() + 15_000;
  let healthy = false;
  while (ctx.now() < deadline && exited === undefined) {
    if (await provesIdentity(options.port, nonce, pid, 500)) {
      healthy = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!healthy) {
    if (exited === undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // The child's own error (e.g. port in use, no provider) is the useful part of its log.
    const last = (await readFile(logFile, 'utf8').catch(() => ''))
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('gatepass: error:') || l.startsWith('hint:'))
      .slice(-2)
      .map((l) => l.replace(/^gatepass: error: /, ''));
    throw new ProxyError(
      'E_PROXY',
      exited === undefined
        ? `the background proxy did not answer on port ${options.port} in time`
        : `the background proxy exited (code ${exited}) before answering${last[0] ? `: ${last[0]}` : ''}`,
      { hint: `${last[1] ? `${last[1].replace(/^hint: /, '')}; ` : ''}log: ${logFile}` },
    );
  }
  child.unref();
  const url = `http://127.0.0.1:${options.port}`;
  const procStart = await processStartTicks(pid);
  await writeProxyState(ctx.paths, {
    pid,
    port: options.port,
    url,
    provider: options.provider,
    startedAt: ctx.now(),
    nonce,
    ...(procStart !== undefined ? { procStart } : {}),
  });
  ctx.logger.info(`gatepass proxy started in the background (pid ${pid}); logs in ${logFile}`);
  ctx.print(url);
  return 0;
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
