/**
 * `--provider NAME` naming a provider that does not exist is a usage error (exit 2) for every
 * command, also for those that would otherwise ignore it (status, teardown, proxy status/stop).
 * Only the commands that create providers (`config set`, `setup` with inline settings) may name a
 * new one (setup calls this itself when it has none). A config file that cannot be read is left to the command to report.
 */
import { loadConfig } from '../config/store.js';
import { ConfigError } from '../errors.js';

const CREATES_PROVIDERS = new Set(['config set', 'setup']);

export async function checkProviderExists(
  command: string,
  provider: string | undefined,
  configFile: string,
): Promise<void> {
  if (!provider || CREATES_PROVIDERS.has(command)) return;
  const loaded = await loadConfig(configFile).catch(() => undefined);
  if (!loaded || provider in loaded.config.providers) return;
  const known = Object.keys(loaded.config.providers);
  const list = known.length ? ` (known: ${known.join(', ')})` : '';
  throw new ConfigError('E_PROVIDER_UNKNOWN', `there is no provider named "${provider}"${list}`, {
    field: 'provider',
    exitCode: 2, // a name the user gave: a usage error
    hint: known.length
      ? 'pick one of them with --provider, or create it with `gatepass config set --provider NAME …`'
      : 'no provider is configured yet: run `gatepass setup` or `gatepass config set`',
  });
}
