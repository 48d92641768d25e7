/**
 * Setup step 1, validate: the config file with the inline flags (`--gateway-url …`) applied, checked
 * in memory as a whole (nothing is written), the provider to wire, its placeholders refused and its
 * issuer's discovery document checked.
 */
import { applyAssignments, parseAssignments } from '../config/edit.js';
import { assertNotLocked } from '../config/managed.js';
import type { GatepassConfig } from '../config/schema.js';
import { loadConfig } from '../config/store.js';
import { requireUsableProvider, validateConfig } from '../config/validate.js';
import type { RunEnv } from './common.js';
import { checkIssuer, refusePlaceholders } from './preflight.js';
import type { SetupConfig, SetupOptions } from './setup-state.js';

export async function resolveConfig(run: RunEnv, options: SetupOptions): Promise<SetupConfig> {
  const file = run.paths.configFile;
  const assignments = parseAssignments(options.assignments ?? []);
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
  return { file, loaded, merged, providerName, provider, assignments };
}
