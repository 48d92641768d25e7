/** What every tool module provides: detection, the keys to set per file, and restart/manual hints. */
import type { FilePlan } from './edit/file.js';

export interface ToolEnv {
  home: string;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

/** How to run gatepass itself: an executable plus leading args (e.g. node + dist/cli.js). */
export interface SelfCommand {
  command: string;
  args: string[];
}

export interface WireParams {
  /** Base URL of the LLM gateway (direct/token-helper tools). */
  gatewayUrl: string;
  /** http://127.0.0.1:<port> of `gatepass proxy` (proxy-mode tools). */
  proxyUrl: string;
  /** The local proxy key proxy-mode tools present as their API key. */
  proxyKey: string;
  self: SelfCommand;
  /** Helper TTL (ms) tools re-run `gatepass token` after: 5 minutes (TTL invariant). */
  helperTtlMs: number;
  /** How long a tool should let the helper run (ms): a whole login, so a first sign-in finishes. */
  helperTimeoutMs: number;
  /** Gateway URL plus its Anthropic path prefix (ANTHROPIC_BASE_URL style; no trailing slash). */
  anthropicUrl: string;
  /** Gateway URL plus its OpenAI path prefix (OpenAI-style base, without `/v1`). */
  openaiUrl: string;
  /** Models the gateway serves (`--models`), for tools that take a model list. */
  models: string[];
  /** The gateway's API dialect as configured (`api_type`, e.g. openai_compatible, responses, anthropic). */
  gatewayApi?: string;
  /**
   * The models were listed by the gateway (`--models auto`): Claude Code gets per-tier models and
   * Codex a default `model` picked from them.
   */
  modelTiers?: boolean;
  /** Claude Code against a Bedrock-backed gateway (`--bedrock-compat`). */
  bedrockCompat: boolean;
  /** gatepass' own directory for helper scripts it generates (Claude Desktop's credential helper). */
  helperDir: string;
  /** Extra CA bundle (absolute path) for direct-mode tools that reach the gateway themselves. */
  caFile?: string;
  /** tls.skip_verify: direct-mode Node tools are told not to verify certificates (local dev only). */
  tlsSkipVerify?: boolean;
  /** otel.endpoint: Claude Code's OpenTelemetry collector (OTLP/HTTP), with identity headers. */
  otelEndpoint?: string;
}

export type ToolMode = 'direct' | 'proxy' | 'manual';

/**
 * The token helper a tool was given, as the tool runs it: a shell command line (Claude Code's
 * apiKeyHelper) or an executable with arguments (Codex's auth.command/args, Claude Desktop's
 * script). Recorded in configured_tools so `gatepass status` can check that it starts.
 */
export type HelperSpec = { shell: string } | { command: string; args: string[] };

export interface ToolModule {
  id: string;
  name: string;
  mode: ToolMode;
  /** The main config file gatepass patches (or the user would edit, for manual tools). */
  configPath(env: ToolEnv): string;
  /** Is the tool installed (its config dir exists or its command is on PATH)? */
  detect(env: ToolEnv): Promise<boolean>;
  /** Files and keys to set; empty for manual tools. */
  files(env: ToolEnv, params: WireParams): FilePlan[];
  /** Exact steps for the user, for manual tools (or caveats for others). */
  manualSteps?(env: ToolEnv, params: WireParams): string[];
  /** The token helper written for the tool (token-helper tools only). */
  helper?(env: ToolEnv, params: WireParams): HelperSpec;
  /** What the user must restart for the change to take effect. */
  restart: string;
  /** How setup describes the wiring, when not "token-helper mode" / "proxy mode". */
  modeLabel?: string;
}
