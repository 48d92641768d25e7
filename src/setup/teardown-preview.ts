/**
 * `gatepass teardown --dry-run`: what teardown would restore, as a diff per file, and what else it
 * would do (delete cached tokens, stop the background proxy) — reading only: no lock, no write, no
 * token or proxy touched. Secrets never show: the local proxy key and the API keys teardown would
 * put back (from the private backups) are masked.
 */
import { loadConfig } from '../config/store.js';
import { describeError } from '../errors.js';
import { readProxyState } from '../proxy/state.js';
import { redact } from '../redact.js';
import { LOCAL_KEY_PREFIX } from '../secrets/local-key.js';
import { readBackups, revertText } from '../tools/edit/file.js';
import { readTextIfExists } from '../util/fs.js';
import { fileRecords, type RunEnv } from './common.js';
import { maskSecrets, secretOf, unifiedDiff } from './diff.js';
import { entryLabel, narrowedBy, selectTeardown } from './teardown-scope.js';

function mask(text: string, secrets: string[]): string {
  const keyless = text.replace(new RegExp(`${LOCAL_KEY_PREFIX}[A-Za-z0-9_-]+`, 'g'), '<redacted>');
  return redact(maskSecrets(keyless, secrets));
}

export interface TeardownPreviewOptions {
  tools?: string[];
  purgeTokens?: boolean;
  keepTokens?: boolean;
}

export async function previewTeardown(run: RunEnv, options: TeardownPreviewOptions): Promise<void> {
  const { config } = await loadConfig(run.paths.configFile);
  const scope = selectTeardown(run, config, options.tools);
  const entries = scope.revert;
  const backups = await readBackups(run.paths.stateDir);
  const secrets = Object.values(backups).map(secretOf);
  for (const entry of entries) {
    const name = entryLabel(entry);
    for (const record of [...fileRecords(entry)].reverse()) {
      const text = await readTextIfExists(record.file);
      if (text === undefined) {
        run.out(`# ${record.file}: missing, nothing to restore`);
        continue;
      }
      try {
        const r = await revertText(record.format, record.file, text, record.changes, backups);
        const removed = record.created && r.empty;
        if (!removed && r.text === text) run.out(`# ${record.file}: nothing to restore`);
        else {
          const diff = unifiedDiff(record.file, text, removed ? '' : r.text);
          run.out(mask(removed ? diff.replace(/^\+\+\+ .*$/m, '+++ /dev/null') : diff, secrets));
        }
        for (const p of r.drifted)
          run.logger.warn(
            `${record.file}: ${p.join('.')} was changed since setup; teardown would leave your value`,
          );
      } catch (err) {
        run.logger.warn(`${name}: teardown would fail: ${describeError(err)}`);
      }
    }
  }
  const what: string[] = [];
  if (options.purgeTokens || (scope.full && !options.keepTokens)) what.push('delete the cached tokens');
  const remaining = config.configured_tools
    .filter((e) => !scope.entries.includes(e))
    .map((e) => narrowedBy(e, scope.slices));
  if (!remaining.some((e) => e.mode === 'proxy') && (await readProxyState(run.paths)))
    what.push('stop the background proxy');
  if (!remaining.some((e) => e.mode === 'proxy')) {
    const { readServiceRecord } = await import('./service.js');
    const service = await readServiceRecord(run.paths.stateDir);
    if (service) what.push(`remove the proxy service (${service.file})`);
  }
  const tools = [...scope.revert].reverse().map(entryLabel).join(', ') || 'no tools';
  run.logger.info(
    `Dry run: nothing was changed. Teardown would unconfigure ${tools}${what.length ? ` and ${what.join(' and ')}` : ''}.`,
  );
}
