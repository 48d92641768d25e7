/**
 * `gatepass setup --dry-run`: print the diff of every planned file — the local proxy key and the API
 * keys the files held before masked — and what a real run would do; nothing is written.
 */
import { redact } from '../redact.js';
import type { RunEnv } from './common.js';
import { maskSecrets, secretOf, unifiedDiff } from './diff.js';
import { placeholderNote } from './preflight.js';
import { describeTools, summarize } from './report.js';
import type { SetupConfig, SetupPlan, SetupResult, Wiring } from './setup-state.js';

export function showDryRun(run: RunEnv, config: SetupConfig, wiring: Wiring, plan: SetupPlan): SetupResult {
  const { planned, manual } = plan;
  // The diff must not show the local proxy key, nor API keys the files held before.
  const secrets = [wiring.proxyKey];
  for (const { files } of planned)
    for (const f of files) secrets.push(...Object.values(f.backups).map(secretOf));
  for (const { files } of planned) {
    for (const f of files) {
      if (f.before === f.after) run.out(`# ${f.file}: already up to date`);
      else run.out(redact(maskSecrets(unifiedDiff(f.file, f.before, f.after), secrets)));
    }
  }
  const flagsChange = wiring.toPersist.length ? ' and the inline settings' : '';
  run.logger.info(`Dry run: nothing was changed. Setup would wire ${describeTools(planned)}${flagsChange}.`);
  for (const line of manual) run.logger.info(line);
  const note = placeholderNote(config.provider);
  if (note) run.logger.info(note);
  return summarize(config.providerName, planned, manual, false);
}
