/**
 * `gatepass setup`: validate inline flags, detect tools, plan each tool's files (refusing malformed
 * ones), log in — unless `--lazy`, which defers login to the first token request — and only then
 * patch the files (all or nothing) and persist config + configured_tools. Nothing is written before
 * the login succeeds, and a failure after it puts every tool file and the config file back — also
 * after a crash: the writes are journaled first (see journal.ts).
 */
import { promises as fsp } from 'node:fs';
import { loginProvider } from '../auth/login.js';
import type { AuthContext } from '../auth/types.js';
import { applyAssignments, parseAssignments } from '../config/edit.js';
import { assertNotLocked } from '../config/managed.js';
import {
  type CommandProvider,
  type ConfiguredTool,
  effectiveProxyPort,
  type GatepassConfig,
  type OidcProvider,
  type Provider,
} from '../config/schema.js';
import { loadConfig, updateConfig } from '../config/store.js';
import { requireUsableProvider, validateConfig } from '../config/validate.js';
import { AuthError, describeError } from '../errors.js';
import { expandHome, warnSkipVerify } from '../net/tls.js';
import { redact, registerSecret } from '../redact.js';
import { generateLocalProxyKey, getLocalProxyKey } from '../secrets/local-key.js';
import { LOCAL_PROXY_KEY_NAME } from '../secrets/types.js';
import { type PlannedFile, planFile, readBackups, writeBackups, writePlanned } from '../tools/edit/file.js';
import type { ToolModule, WireParams } from '../tools/index.js';
import { TOOLS } from '../tools/index.js';
import { launcherPath, writeLauncher } from '../tools/launcher.js';
import { resolveSelf } from '../tools/self.js';
import type { SelfCommand } from '../tools/types.js';
import { readTextIfExists, writeFileAtomic } from '../util/fs.js';
import {
  authContext,
  fileRecords,
  HELPER_TTL_MS,
  helperTimeoutMs,
  hintCommand,
  notInstalled,
  openStore,
  parseToolList,
  pinnedArgs,
  type RunEnv,
  toolEnv,
  withToolsLock,
} from './common.js';
import { maskSecrets, secretOf, unifiedDiff } from './diff.js';
import { beginJournal, endJournal, recoverInterruptedSetup, rollbackJournal } from './journal.js';
import { egressNotice, resolveLayout } from './layout.js';
import { keepUserModelKeys, recordPendingModels } from './lazy-models.js';
import { discoverModelsStep } from './models.js';
import { checkIssuer, placeholderNote, refusePlaceholders } from './preflight.js';
import type { Prober } from './probe.js';

/** `--lazy` notice (stderr, quiet with -q; only when a tool was wired). */
export const LAZY_MESSAGE =
  "Lazy mode: skipping OIDC login. You'll be signed in automatically the first time a configured tool accesses the LLM gateway: a browser opens then, or, when none can be opened, the tool's gatepass helper prints the sign-in URL on stderr. `gatepass login` signs you in now.";

/** `--lazy` for a command provider: its token_command (if any) runs on first use instead. */
export const LAZY_COMMAND_MESSAGE =
  'Lazy mode: not running the token command now. It runs the first time a configured tool accesses the LLM gateway (or now: `gatepass login`).';

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

export interface SetupOptions {
  /** Provider to wire (default: the config's default provider). */
  provider?: string;
  /** Inline config flags as [field key, raw value] pairs (validated like `config set`). */
  assignments?: Array<[string, string]>;
  /** Restrict to these tools (each must be installed). Default: every detected tool. */
  tools?: string[];
  lazy?: boolean;
  dryRun?: boolean;
  skipBrowser?: boolean;
  /** Injected for tests; default the real `loginProvider`. */
  login?: typeof loginProvider;
  /** How tools run gatepass (default: this process's executable). */
  self?: SelfCommand;
  /** `--bedrock-compat` (true, saved) / `--no-bedrock-compat` (false, cleared); absent: the saved setting. */
  bedrockCompat?: boolean;
  /** Gateway layout probe (injected in tests; default a 2-second HEAD request). */
  probe?: Prober;
  /** `--models auto`: list the gateway's models even over a saved list of the user's. */
  modelsAuto?: boolean;
  /** The fill-in a lazy setup deferred (lazy-models.ts): model keys the user set in a tool's file stay. */
  keepUserModels?: boolean;
}

export interface SetupResult {
  provider: string;
  tools: Array<{ id: string; name: string; mode: string; files: string[]; changed: boolean }>;
  manual: string[];
  loggedIn: boolean;
}

export async function runSetup(run: RunEnv, options: SetupOptions): Promise<SetupResult> {
  return options.dryRun ? setupLocked(run, options) : withToolsLock(run, () => setupLocked(run, options));
}

async function setupLocked(run: RunEnv, options: SetupOptions): Promise<SetupResult> {
  if (!options.dryRun) await recoverInterruptedSetup(run);
  const tenv = toolEnv(run);
  const file = run.paths.configFile;
  const assignments = parseAssignments(options.assignments ?? []);

  // 1. Validate the merged config in memory (nothing written yet).
  const loaded = await loadConfig(file);
  const merged: GatepassConfig = structuredClone(loaded.config);
  const providerName = options.provider ?? merged.default_provider;
  if (assignments.length) {
    assertNotLocked(
      loaded.managed,
      assignments.map((a) => a.spec.key),
      providerName,
    );
    applyAssignments(merged, providerName, assignments);
  }
  validateConfig(merged, { full: true });
  const provider = requireUsableProvider(providerName, merged.providers[providerName], merged);
  refusePlaceholders(run, provider, Boolean(options.dryRun));
  await checkIssuer(run, provider);

  // 2. Which tools.
  const requested = parseToolList(options.tools);
  const tools: ToolModule[] = [];
  for (const tool of requested ?? TOOLS) {
    const installed = await tool.detect(tenv);
    if (installed) tools.push(tool);
    else if (requested) throw notInstalled(tool, tenv);
  }

  // 3. The values to write.
  const proxyTools = tools.filter((t) => t.mode === 'proxy');
  // A dry run reads the local proxy key (to diff against it) and never writes to the store.
  const store = options.dryRun
    ? proxyTools.length
      ? await openStore(run, { readOnly: true })
      : undefined
    : proxyTools.length || !options.lazy
      ? await openStore(run)
      : undefined;
  let proxyKey = '';
  let createdKey = false;
  if (proxyTools.length && store) {
    const existing = await getLocalProxyKey(store);
    if (existing) proxyKey = existing;
    else {
      // Generated now for planning, stored only when the files are written (never on a dry run).
      proxyKey = generateLocalProxyKey();
      registerSecret(proxyKey);
      createdKey = true;
    }
  }
  const gatewayUrl = provider.gateway_url!;
  const layout = await resolveLayout(
    run,
    provider,
    loaded.config.providers[providerName]?.gateway_url,
    assignments,
    tools,
    {
      ...(options.bedrockCompat !== undefined ? { bedrockCompat: options.bedrockCompat } : {}),
      ...(options.probe ? { probe: options.probe } : {}),
    },
  );
  const toPersist = [...assignments, ...layout.persist];
  const base = gatewayUrl.replace(/\/+$/, '');
  // Tools start gatepass through the launcher (rewritten below to point at this gatepass), pinned to
  // the config file and provider of this setup: `--config alt.yaml --provider work` is what they get.
  const self = options.self ?? resolveSelf();
  const pinned = pinnedArgs(run, providerName);
  const params: WireParams = {
    gatewayUrl,
    proxyUrl: `http://127.0.0.1:${effectiveProxyPort(merged)}`,
    proxyKey,
    self: { command: launcherPath(run.paths.dataDir, run.platform), args: pinned },
    helperTtlMs: HELPER_TTL_MS,
    helperTimeoutMs: helperTimeoutMs(run.env, provider),
    anthropicUrl: `${base}${layout.anthropicPrefix}`,
    openaiUrl: `${base}${layout.openaiPrefix}`,
    models: layout.models,
    modelTiers: provider.models_discovered === true && !assignments.some((a) => a.spec.key === 'models'),
    ...(provider.api_type ? { gatewayApi: provider.api_type } : {}),
    bedrockCompat: layout.bedrockCompat,
    helperDir: run.paths.dataDir,
    ...(provider.tls?.ca_file ? { caFile: expandHome(provider.tls.ca_file, run.home) } : {}),
    ...(provider.tls?.skip_verify ? { tlsSkipVerify: true } : {}),
  };
  if (provider.tls?.skip_verify) warnSkipVerify(run.stderr, `setup of provider "${providerName}"`);

  // 4. Plan every file against its current content (throws before any write on a malformed file).
  const backupsBefore = await readBackups(run.paths.stateDir);
  const manual: string[] = [];
  for (const tool of tools) if (tool.manualSteps) manual.push(...tool.manualSteps(tenv, params));
  manual.push(...egressNotice(provider, run.env, tools));
  const planAll = async (): Promise<Array<{ tool: ToolModule; files: PlannedFile[] }>> => {
    const out: Array<{ tool: ToolModule; files: PlannedFile[] }> = [];
    for (const tool of tools) {
      const previous = loaded.config.configured_tools.find((e) => e.tool === tool.id);
      const prevFiles = previous ? fileRecords(previous) : [];
      const files: PlannedFile[] = [];
      let plans = tool.files(tenv, toolParams(tool, params));
      if (options.keepUserModels) plans = await keepUserModelKeys(tool.id, plans, prevFiles); // lazy-models.ts
      for (const plan of plans) {
        const f = await planFile(
          plan,
          prevFiles.find((f) => f.file === plan.file),
          backupsBefore,
        );
        if (!f.skip) files.push(f); // a retired file no earlier run touched
      }
      out.push({ tool, files });
    }
    return out;
  };
  let planned = await planAll();

  if (options.dryRun) {
    // The diff must not show the local proxy key, nor API keys the files held before.
    const secrets = [proxyKey];
    for (const { files } of planned)
      for (const f of files) secrets.push(...Object.values(f.backups).map(secretOf));
    for (const { files } of planned) {
      for (const f of files) {
        if (f.before === f.after) run.out(`# ${f.file}: already up to date`);
        else run.out(redact(maskSecrets(unifiedDiff(f.file, f.before, f.after), secrets)));
      }
    }
    const flagsChange = toPersist.length ? ' and the inline settings' : '';
    run.logger.info(
      `Dry run: nothing was changed. Setup would wire ${describeTools(planned)}${flagsChange}.`,
    );
    for (const line of manual) run.logger.info(line);
    const note = placeholderNote(provider);
    if (note) run.logger.info(note);
    return summarize(providerName, planned, manual, false);
  }

  // 5. Sign in (unless lazy) before anything is written: a failed or interrupted login (Ctrl-C while
  // waiting for the browser) leaves the config and every tool file exactly as they were. The login
  // may record token_ref in an existing config file, so the file is captured before it.
  const configBefore = await readTextIfExists(file);
  let loggedIn = false;
  let tokenRef: OidcProvider['token_ref'];
  if (!options.lazy) {
    const login = options.login ?? loginProvider;
    const ctx = authContext(run, merged, store ?? (await openStore(run)), {
      interactive: true,
      skipBrowser: options.skipBrowser ?? false,
    });
    const envOnly = provider.type === 'command' && !provider.auth.token_command;
    const refBefore = provider.type === 'oidc' ? provider.token_ref : undefined;
    try {
      if (envOnly) {
        // Nothing to sign in with: the token comes from auth.env_var, set where the tools run.
        loggedIn = await checkEnvToken(run, ctx, providerName, provider);
      } else if (await hasUsableToken(ctx, providerName, provider)) {
        // Re-running setup: a cached or refreshable token is reused, no browser, no token command.
        loggedIn = true;
        run.logger.info(`Already signed in to ${gatewayUrl} (provider "${providerName}").`);
      } else {
        run.logger.info(`Signing in to ${gatewayUrl} (provider "${providerName}")…`);
        await login(ctx, providerName, provider, {});
        loggedIn = true;
        run.logger.info('Signed in.');
      }
    } catch (err) {
      run.logger.warn(`sign-in failed; setup changed nothing (${describeError(err)})`);
      await restoreConfig(file, configBefore);
      throw err;
    }
    // The OIDC login records a new token reference on the provider it was given.
    if (provider.type === 'oidc' && provider.token_ref && provider.token_ref !== refBefore)
      tokenRef = { ...provider.token_ref };
    // With a token: the gateway's models, unless the user chose them (see models.ts).
    if (loggedIn) {
      const found = await discoverModelsStep(run, ctx, providerName, provider, {
        auto: options.modelsAuto === true,
        explicit: assignments.some((a) => a.spec.key === 'models'),
      });
      if (found.models) Object.assign(params, { models: found.models, modelTiers: true });
      toPersist.push(...found.persist);
    }
    // The files may have changed while the user was in the browser: plan against what is there now.
    planned = await planAll().catch(async (err: unknown) => {
      await restoreConfig(file, configBefore);
      throw err;
    });
  }

  // 6. Apply. First the journal (what everything below was, fsync'd), then the key, the backups of
  // previous values, the tool files and the config; a failure here, or a crash (then the next
  // setup, teardown or status), puts everything back from the journal.
  // Previous values of secret keys: the first setup's backup wins (re-runs never overwrite it).
  const backups = { ...backupsBefore };
  let newBackups = false;
  for (const { files } of planned) {
    for (const f of files) {
      for (const [id, raw] of Object.entries(f.backups)) {
        if (id in backups) continue;
        backups[id] = raw;
        newBackups = true;
      }
    }
  }
  const journal = await beginJournal(run, {
    configFile: file,
    configBefore,
    backups,
    createdKey: createdKey && store !== undefined,
    files: planned.flatMap((p) => p.files),
  }).catch(async (err: unknown) => {
    await restoreConfig(file, configBefore);
    throw err;
  });
  try {
    if (createdKey && store) await store.set(LOCAL_PROXY_KEY_NAME, proxyKey);
    await writeLauncher(run.paths.dataDir, self, run.platform);
    if (newBackups) await writeBackups(run.paths.stateDir, backups);
    for (const { files } of planned) for (const f of files) await writePlanned(f);

    await updateConfig(file, (cfg) => {
      if (toPersist.length) applyAssignments(cfg, providerName, toPersist);
      // The sign-in above ran against the merged settings (a changed gateway or issuer drops the
      // old token_ref): record its token reference now that those settings are saved.
      const saved = cfg.providers[providerName];
      if (tokenRef && saved?.type === 'oidc') saved.token_ref = { ...tokenRef };
      // A lazy setup after a logout asks for "login pending" again: tools may sign in on first use.
      if (options.lazy && saved) delete saved.logged_out;
      // A lazy setup leaves the gateway's models to the first token (lazy-models.ts).
      if (saved)
        recordPendingModels(saved, {
          ...options,
          explicit: assignments.some((a) => a.spec.key === 'models'),
        });
      for (const { tool, files } of planned) {
        if (tool.mode === 'manual') continue; // nothing written, nothing to undo
        const entry: ConfiguredTool = {
          tool: tool.id,
          mode: tool.mode,
          config_path: tool.configPath(tenv),
          provider: providerName,
          files: files.map((f) => f.record),
          ...(tool.helper ? { helper: tool.helper(tenv, toolParams(tool, params)) } : {}),
        };
        const i = cfg.configured_tools.findIndex((e) => e.tool === tool.id);
        if (i >= 0) cfg.configured_tools[i] = entry;
        else cfg.configured_tools.push(entry);
      }
    });
    await endJournal(run);
    if (options.lazy && planned.some(({ tool }) => tool.mode !== 'manual'))
      run.logger.info(provider.type === 'command' ? LAZY_COMMAND_MESSAGE : LAZY_MESSAGE);
  } catch (err) {
    run.logger.warn(`setup failed; undoing its changes (${describeError(err)})`);
    await rollbackJournal(run, journal).catch((e: unknown) =>
      run.logger.warn(
        `could not undo everything (${describeError(e)}); the next gatepass setup, teardown or status finishes it`,
      ),
    );
    throw err;
  }
  const result = summarize(providerName, planned, manual, loggedIn);
  // 6. Tell the user what happened and what to restart.
  for (const t of result.tools) {
    if (t.mode === 'manual') continue; // its steps are printed below
    const label =
      TOOLS.find((x) => x.id === t.id)?.modeLabel ??
      (t.mode === 'direct' ? 'token-helper mode' : 'proxy mode');
    run.logger.info(
      `${t.changed ? 'Configured' : 'Already configured'} ${t.name} (${label}): ${t.files.join(', ')}`,
    );
  }
  if (result.tools.length === 0) run.logger.info('No supported AI tools were found to configure.');
  for (const line of manual) run.logger.info(line);
  const restarts = planned
    .filter(({ files }) => files.some((f) => f.before !== f.after))
    .map(({ tool }) => `  - ${tool.name}: ${tool.restart}`);
  if (restarts.length) run.logger.info(`Restart needed:\n${restarts.join('\n')}`);
  if (proxyTools.length)
    run.logger.info(
      `Proxy-mode tools need \`${hintCommand(run, providerName, merged, 'proxy start')}\` running.`,
    );
  return result;
}

function toolParams(tool: ToolModule, params: WireParams): WireParams {
  // Codex speaks the OpenAI Responses API under /v1 of the gateway (after its OpenAI path prefix).
  return tool.id === 'codex' ? { ...params, gatewayUrl: `${params.openaiUrl}/v1` } : params;
}

function describeTools(planned: Array<{ tool: ToolModule }>): string {
  return planned.length ? planned.map((p) => p.tool.name).join(', ') : 'no tools';
}

function summarize(
  provider: string,
  planned: Array<{ tool: ToolModule; files: PlannedFile[] }>,
  manual: string[],
  loggedIn: boolean,
): SetupResult {
  return {
    provider,
    tools: planned.map(({ tool, files }) => ({
      id: tool.id,
      name: tool.name,
      mode: tool.mode,
      files: files.map((f) => f.file),
      changed: files.some((f) => f.before !== f.after),
    })),
    manual,
    loggedIn,
  };
}

/** Put the config file back as it was (`undefined`: it did not exist). Best effort, for rollbacks. */
async function restoreConfig(file: string, before: string | undefined): Promise<void> {
  const now = await readTextIfExists(file).catch(() => undefined);
  if (now === before) return;
  if (before === undefined) await fsp.rm(file, { force: true }).catch(() => {});
  else await writeFileAtomic(file, before, { mode: 0o600 }).catch(() => {});
}
