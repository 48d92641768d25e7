/** gatepass' library API. */

export { type CacheEntry, cacheFilePath, readCache, writeCache } from './auth/command/cache.js';
export { MAX_OUTPUT_BYTES, type ParsedToken, parseTokenOutput } from './auth/command/parse.js';
export { type CommandTokenSource, createCommandTokenSource } from './auth/command/source.js';
export { formatVariables, instrumentationArgs, shellQuote, tokenVariables } from './auth/export.js';
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
export { formatOAuthError, redact, redactDeep, registerSecret, sanitizeOAuthError } from './redact.js';
export { VERSION } from './version.js';
