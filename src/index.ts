/** gatepass' library API. */

export { applyAssignments, parseAssignments, unsetFields } from './config/edit.js';
export { type GatepassPaths, resolvePaths } from './config/paths.js';
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
export { VERSION } from './version.js';
