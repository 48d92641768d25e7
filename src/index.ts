/** gatepass' library API. */

export { canOpenBrowser, createBrowserOpener } from './auth/browser.js';
export { type CacheEntry, cacheFilePath, readCache, writeCache } from './auth/command/cache.js';
export { MAX_OUTPUT_BYTES, type ParsedToken, parseTokenOutput } from './auth/command/parse.js';
export { type CommandTokenSource, createCommandTokenSource } from './auth/command/source.js';
export { formatVariables, instrumentationArgs, shellQuote, tokenVariables } from './auth/export.js';
export { createTokenSource } from './auth/factory.js';
export { loginProvider, logoutProvider } from './auth/login.js';
export { accessTokenKey, oidcSecretKey } from './auth/oidc/keys.js';
export { type OidcTokenStatus, oidcTokenStatus } from './auth/oidc/status.js';
export type * from './auth/types.js';
export { applyAssignments, parseAssignments, unsetFields } from './config/edit.js';
export { type GatepassPaths, resolveHome, resolvePaths } from './config/paths.js';
export * from './config/schema.js';
export {
  type LoadedConfig,
  loadConfig,
  requireProvider,
  selectProvider,
  updateConfig,
} from './config/store.js';
export { FIELDS, type FieldSpec, isLoopbackHost, validateConfig } from './config/validate.js';
export * from './errors.js';
export { getProxyStatus, probeHealth, type StopResult, stopBackgroundProxy } from './proxy/control.js';
export { type ProxyOptions, type RunningProxy, startProxy } from './proxy/server.js';
export { formatOAuthError, redact, redactDeep, registerSecret, sanitizeOAuthError } from './redact.js';
export { openSecretStore } from './secrets/index.js';
export type { SecretStore, SecretStoreKind } from './secrets/types.js';
export {
  LAZY_COMMAND_MESSAGE,
  LAZY_MESSAGE,
  runSetup,
  type SetupOptions,
  type SetupResult,
} from './setup/setup.js';
export { collectStatus, type StatusReport } from './setup/status.js';
export { runTeardown, type TeardownOptions, type TeardownResult } from './setup/teardown.js';
export { TOOLS } from './tools/index.js';
export { VERSION } from './version.js';
