/** Shared plumbing for setup, teardown and status: the injected environment and tool selection. */
import { homedir } from 'node:os';
import path from 'node:path';
import { loginTimeoutMs } from '../auth/oidc/source.js';
import type { AuthContext } from '../auth/types.js';
import { type GatepassPaths, resolvePaths } from '../config/paths.js';
import {
  type ConfiguredTool,
  DEFAULT_COMMAND_TIMEOUT_S,
  type GatepassConfig,
  type Provider,
} from '../config/schema.js';
import { ToolConfigError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { openSecretStore } from '../secrets/index.js';
import type { SecretStore } from '../secrets/types.js';
import type { FileChange } from '../tools/edit/types.js';
import { findTool, TOOLS, type ToolEnv, type ToolModule } from '../tools/index.js';
import { shellQuote } from '../tools/self.js';

/** The 5-minute helper TTL of the TTL invariant (tokens are refreshed when < 10 min remain). */
export const HELPER_TTL_MS = 300_000;

/**
 * How long a tool should let its token helper run: a whole login (the OIDC login timeout, or the
 * command provider's auth.timeout) plus a minute — tools that kill a slow helper (Codex after
 * `auth.timeout_ms`, 5 s by default) would otherwise cut the first sign-in off and retry with a new
 * browser tab, forever.
 */
export function helperTimeoutMs(env: NodeJS.ProcessEnv, provider: Provider): number {
  const login =
    provider.type === 'command'
      ? (provider.auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000
      : loginTimeoutMs(env);
  return login + 60_000;
}

/** `--config <file> --provider <name>`: what the tools' helpers are pinned to (the config absolute). */
export function pinnedArgs(run: RunEnv, providerName: string): string[] {
  return ['--config', path.resolve(run.paths.configFile), '--provider', providerName];
}

/**
 * A `gatepass …` command line for a hint, with `--config` / `--provider` when they are not what a
 * plain `gatepass` would use (the default config file, its default provider).
 */
export function hintCommand(run: RunEnv, providerName: string, config: GatepassConfig, sub: string): string {
  const words = ['gatepass'];
  let defaultFile: string | undefined;
  try {
    defaultFile = resolvePaths({
      env: { ...run.env, GATEPASS_CONFIG: '' },
      platform: run.platform,
    }).configFile;
  } catch {
    // no home directory: always name the file
  }
  if (path.resolve(run.paths.configFile) !== defaultFile) words.push('--config', run.paths.configFile);
  if (providerName !== config.default_provider) words.push('--provider', providerName);
  return [...words.map((w) => shellQuote(w, run.platform)), sub].join(' ');
}

export interface RunEnv {
  paths: GatepassPaths;
  env: NodeJS.ProcessEnv;
  home: string;
  platform: NodeJS.Platform;
  logger: Logger;
  /** Command output (stdout). */
  out: (line: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  now: () => number;
  /** Open the secret store (injected in tests). */
  openStore?: () => Promise<SecretStore>;
}

/** The user's home directory as the tools see it (USERPROFILE on Windows, then HOME, then the OS's). */
export function homeOf(env: NodeJS.ProcessEnv): string {
  return (process.platform === 'win32' ? env['USERPROFILE'] : env['HOME']) || env['HOME'] || homedir();
}

export function toolEnv(run: RunEnv): ToolEnv {
  return { home: run.home, platform: run.platform, env: run.env };
}

export function openStore(run: RunEnv, options: { readOnly?: boolean } = {}): Promise<SecretStore> {
  return run.openStore
    ? run.openStore()
    : openSecretStore({ paths: run.paths, env: run.env, logger: run.logger, ...options });
}

export function authContext(
  run: RunEnv,
  config: GatepassConfig,
  secrets: SecretStore,
  options: { interactive: boolean; skipBrowser?: boolean },
): AuthContext {
  return {
    config,
    configFile: run.paths.configFile,
    paths: run.paths,
    logger: run.logger,
    env: run.env,
    now: run.now,
    secrets,
    interactive: options.interactive,
    skipBrowser: options.skipBrowser ?? false,
    stderr: run.stderr,
  };
}

/** Parse `--tools a,b` into known tool modules (unknown names are a usage error). */
export function parseToolList(list: string[] | undefined): ToolModule[] | undefined {
  if (!list) return undefined;
  const ids = list
    .flatMap((s) => s.split(/[\s,]+/))
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (ids.length === 0) throw new UsageError('--tools needs at least one tool name');
  const out: ToolModule[] = [];
  for (const id of ids) {
    const tool = findTool(id === 'claude-code' ? 'claude' : id);
    if (!tool) {
      throw new UsageError(`unknown tool "${id}"`, {
        hint: `known tools: ${TOOLS.map((t) => t.id).join(', ')}`,
      });
    }
    if (!out.includes(tool)) out.push(tool);
  }
  return out;
}

export function notInstalled(tool: ToolModule, env: ToolEnv): ToolConfigError {
  return new ToolConfigError(
    `${tool.name} (${tool.id}) is not installed: found neither its command nor ${tool.configPath(env)}`,
    {
      code: 'E_TOOL_NOT_INSTALLED',
      hint: `install ${tool.name} first, or leave it out of --tools`,
    },
  );
}

/** The file records of a configured_tools entry. */
export function fileRecords(entry: ConfiguredTool): FileChange[] {
  const files = entry['files'];
  return Array.isArray(files) ? (files as FileChange[]) : [];
}

/** Serialise setup/teardown runs: both read-modify-write other tools' files and configured_tools. */
export async function withToolsLock<T>(run: RunEnv, fn: () => Promise<T>): Promise<T> {
  const { withFileLock } = await import('../util/lock.js');
  return withFileLock(path.join(run.paths.stateDir, 'tool-wiring'), fn);
}
