/**
 * One-off TLS overrides (`--ca-file`, `--tls-skip-verify`) for `login`, `token` and `proxy start`:
 * they apply to this run only (the in-memory provider), never to the config file.
 */
import type { Provider } from '../config/schema.js';
import { findField, parseFieldInput } from '../config/validate.js';
import { ConfigError } from '../errors.js';

export interface TlsFlags {
  caFile?: string;
  tlsSkipVerify?: boolean;
}

export function applyTlsFlags(provider: Provider, flags: TlsFlags): void {
  if (flags.caFile === undefined && !flags.tlsSkipVerify) return;
  const tls = { ...(provider.tls ?? {}) };
  if (flags.caFile !== undefined) {
    try {
      tls.ca_file = parseFieldInput(findField('tls.ca_file')!, flags.caFile) as string;
    } catch (err) {
      throw new ConfigError(
        'E_CONFIG_INVALID',
        (err as Error).message.replace(/^invalid tls\.ca_file/, 'invalid --ca-file'),
        {
          field: 'tls.ca_file',
        },
      );
    }
  }
  if (flags.tlsSkipVerify) tls.skip_verify = true;
  provider.tls = tls;
}

export const CA_FILE_FLAG_HELP =
  'PEM bundle of extra CA certificates for the IdP and the gateway (this run only)';
export const SKIP_VERIFY_FLAG_HELP = 'do not verify TLS certificates (this run only; LOCAL DEVELOPMENT ONLY)';
