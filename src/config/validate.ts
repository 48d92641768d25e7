/**
 * Validation of a whole configuration: every field that is set passes its check (check-field.ts,
 * over the table in fields.ts), and a provider whose mandatory fields are all present (gateway_url +
 * issuer + client_id for OIDC) also gets full validation: its required fields and cross-field
 * consistency. Errors name the first bad field and say what would be accepted.
 *
 * The structural normalisation of a parsed file is normalize.ts. This module re-exports the field
 * table, the field checks and normalizeConfig, so callers keep one import for configuration rules.
 */
import { ConfigError } from '../errors.js';
import { checkFieldValue, checkProviderName, getFieldValue } from './check-field.js';
import { FIELDS, findField } from './fields.js';
import {
  type CommandProvider,
  DEFAULT_CALLBACK_PORT,
  type GatepassConfig,
  isProviderConfigured,
  type OidcProvider,
  type Provider,
} from './schema.js';

export {
  checkCaFile,
  checkFieldValue,
  checkProviderName,
  getFieldValue,
  isLoopbackHost,
  parseFieldInput,
} from './check-field.js';
export { FIELDS, type FieldKind, type FieldSpec, findField } from './fields.js';
export { normalizeConfig } from './normalize.js';

function invalid(field: string, reason: string, where?: string): never {
  throw new ConfigError('E_CONFIG_INVALID', `invalid ${field}${where ? ` (${where})` : ''}: ${reason}`, {
    field,
  });
}
function validateProvider(name: string, provider: Provider, config: GatepassConfig, full: boolean): void {
  const where = `provider "${name}"`;
  for (const spec of FIELDS) {
    if (spec.scope !== 'provider' || spec.key === 'type') continue;
    if (spec.providerType && spec.providerType !== provider.type) continue;
    const value = getFieldValue(config, provider, spec);
    if (value === undefined) continue;
    const reason = checkFieldValue(spec, value);
    if (reason) invalid(spec.key, reason, where);
  }
  if (!full || !isProviderConfigured(provider)) return;
  if (provider.type === 'oidc') validateOidcFull(provider, config, where);
  else validateCommandFull(provider, where);
}

function validateOidcFull(provider: OidcProvider, config: GatepassConfig, where: string): void {
  const callback = provider.oidc.callback_port ?? DEFAULT_CALLBACK_PORT;
  const proxyPort = config.proxy.listen_port ?? 14000;
  if (callback !== 0 && callback === proxyPort) {
    invalid('oidc.callback_port', `must differ from proxy.listen_port (both are ${callback})`, where);
  }
}

function validateCommandFull(provider: CommandProvider, where: string): void {
  if (!provider.auth.token_command && !provider.auth.env_var) {
    invalid('auth.token_command', 'a command provider needs auth.token_command or auth.env_var', where);
  }
}

export interface ValidateOptions {
  /** Run full validation for every provider whose mandatory fields are present. Default true. */
  full?: boolean;
}

/** Validate a whole config. Throws ConfigError (E_CONFIG_INVALID) naming the first bad field. */
export function validateConfig(config: GatepassConfig, options: ValidateOptions = {}): void {
  const full = options.full ?? true;
  const nameReason = checkProviderName(config.default_provider);
  if (nameReason) invalid('default_provider', nameReason);
  for (const [name, provider] of Object.entries(config.providers)) {
    const r = checkProviderName(name);
    if (r) invalid('providers', r);
    validateProvider(name, provider, config, full);
  }
  validateGlobalFields(config);
}

/** The top-level fields every command relies on (a hand-edited `listen_port: 0` must not bind a random port). */
function validateGlobalFields(config: GatepassConfig): void {
  if (config.proxy.listen_port !== undefined) {
    const reason = checkFieldValue(findField('proxy.listen_port')!, config.proxy.listen_port);
    if (reason) invalid('proxy.listen_port', reason);
  }
}

/** Full validation of one provider, requiring its mandatory fields. Used before a provider is used. */
export function requireUsableProvider(
  name: string,
  provider: Provider | undefined,
  config: GatepassConfig,
): Provider {
  if (!provider) {
    throw new ConfigError('E_PROVIDER_UNKNOWN', `no provider named "${name}" is configured`, {
      field: 'provider',
      hint: `run \`gatepass config set${name === 'default' ? '' : ` --provider ${name}`} --gateway-url … --issuer … --client-id …\` or \`gatepass setup\``,
    });
  }
  const missing: string[] = [];
  if (!provider.gateway_url) missing.push('gateway_url');
  if (provider.type === 'oidc') {
    if (!provider.oidc.issuer) missing.push('oidc.issuer');
    if (!provider.oidc.client_id) missing.push('oidc.client_id');
  } else if (!provider.auth.token_command && !provider.auth.env_var) {
    missing.push('auth.token_command (or auth.env_var)');
  }
  if (missing.length) {
    throw new ConfigError(
      'E_CONFIG_MISSING',
      `provider "${name}" is not fully configured: missing ${missing.join(', ')}`,
      {
        field: missing[0],
        hint: `set them with \`gatepass config set${name === 'default' ? '' : ` --provider ${name}`} ${missing
          .map((m) => findField(m.split(' ')[0]!)?.flag ?? m)
          .map((f) => `${f} …`)
          .join(' ')}\``,
      },
    );
  }
  validateProvider(name, provider, config, true);
  validateGlobalFields(config);
  return provider;
}
