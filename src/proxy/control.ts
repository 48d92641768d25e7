// SCAFFOLD (replaced by the proxy work): stop a background proxy recorded in the state file.
import type { GatepassPaths } from '../config/paths.js';
import { GatepassError } from '../errors.js';

export interface StopResult {
  /** True when a running proxy was stopped. */
  stopped: boolean;
  pid?: number;
}

export async function stopBackgroundProxy(
  _paths: GatepassPaths,
  _options: { timeoutMs?: number } = {},
): Promise<StopResult> {
  throw new GatepassError('E_INTERNAL', 'proxy control not built yet');
}
