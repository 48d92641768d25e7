/**
 * A small set of error classes with stable `code`s. Every error gatepass raises on purpose is a
 * `GatepassError`; its `code` never changes between releases so scripts can match on it, and its
 * `exitCode` tells the CLI what to exit with (1 = failure, 2 = usage error).
 *
 * Messages must never contain a secret. Constructors run the message through `redact()` as a last
 * line of defence, but callers are expected not to put secrets there in the first place. They also
 * strip control characters and escape sequences (`stripControl`), so server text quoted in a
 * message (an IdP's error_description, a command's stderr) cannot drive the terminal it prints on.
 */
import { redact, stripControl } from './redact.js';

export type ErrorCode =
  | 'E_USAGE'
  | 'E_CONFIG_INVALID'
  | 'E_CONFIG_MALFORMED'
  | 'E_CONFIG_MISSING'
  | 'E_PROVIDER_UNKNOWN'
  | 'E_AUTH_REQUIRED'
  | 'E_AUTH_FAILED'
  | 'E_AUTH_TIMEOUT'
  | 'E_AUTH_UNAVAILABLE'
  | 'E_TOKEN_COMMAND'
  | 'E_SECRET_STORE'
  | 'E_TOOL_CONFIG'
  | 'E_TOOL_NOT_INSTALLED'
  | 'E_PROXY'
  | 'E_PORT_IN_USE'
  | 'E_TLS'
  | 'E_IO'
  | 'E_INTERNAL';

export interface GatepassErrorOptions {
  cause?: unknown;
  /** A hint telling the user what to do next, printed after the message. */
  hint?: string;
  exitCode?: number;
}

export class GatepassError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatepassErrorOptions = {}) {
    super(redact(stripControl(message)), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint === undefined ? undefined : redact(stripControl(options.hint));
  }
}

/** Bad command-line input: unknown flag, missing argument, conflicting options. Exit code 2. */
export class UsageError extends GatepassError {
  constructor(message: string, options: Omit<GatepassErrorOptions, 'exitCode'> = {}) {
    super('E_USAGE', message, { ...options, exitCode: 2 });
  }
}

/**
 * A configuration value failed validation. `field` names the offending key (e.g. `gateway_url`).
 * Raised for user input it exits 2; for a config file on disk that no longer validates, 1.
 */
export class ConfigError extends GatepassError {
  readonly field: string | undefined;
  constructor(
    code: 'E_CONFIG_INVALID' | 'E_CONFIG_MALFORMED' | 'E_CONFIG_MISSING' | 'E_PROVIDER_UNKNOWN',
    message: string,
    options: GatepassErrorOptions & { field?: string } = {},
  ) {
    super(code, message, { exitCode: code === 'E_CONFIG_INVALID' ? 2 : 1, ...options });
    this.field = options.field;
  }
}

/**
 * Authentication problems. `E_AUTH_REQUIRED` means no usable credentials exist and the caller may
 * not start an interactive login ("unavailable" in Azure identity terms); `E_AUTH_FAILED` means a
 * source was available but failed (IdP error, rejected grant, bad command output).
 */
export class AuthError extends GatepassError {}

/** A secret store (keychain, file, environment) could not be used. */
export class SecretStoreError extends GatepassError {
  constructor(message: string, options: GatepassErrorOptions = {}) {
    super('E_SECRET_STORE', message, options);
  }
}

/** Another tool's configuration file could not be read, parsed or written. */
export class ToolConfigError extends GatepassError {
  readonly path: string | undefined;
  constructor(
    message: string,
    options: GatepassErrorOptions & { path?: string; code?: 'E_TOOL_CONFIG' | 'E_TOOL_NOT_INSTALLED' } = {},
  ) {
    super(options.code ?? 'E_TOOL_CONFIG', message, options);
    this.path = options.path;
  }
}

export class ProxyError extends GatepassError {}

export function isGatepassError(err: unknown): err is GatepassError {
  return err instanceof GatepassError;
}

/** Describe any thrown value as safe text (secrets redacted, control characters stripped). */
export function describeError(err: unknown): string {
  return redact(stripControl(err instanceof Error ? err.message : String(err)));
}
