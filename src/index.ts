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
export { formatOAuthError, redact, redactDeep, registerSecret, sanitizeOAuthError } from './redact.js';
export { LAZY_MESSAGE, runSetup, type SetupOptions, type SetupResult } from './setup/setup.js';
export { collectStatus, type StatusReport } from './setup/status.js';
export { runTeardown, type TeardownOptions, type TeardownResult } from './setup/teardown.js';
export { TOOLS } from './tools/index.js';
export { VERSION } from './version.js';
