/**
 * Pure edits of a config object: set and unset fields of a provider or of the top level. The CLI and
 * `gatepass setup` use these inside `updateConfig`, so validation runs before anything is written.
 */
import { ConfigError } from '../errors.js';
import {
  DEFAULT_PROVIDER,
  type GatepassConfig,
  newProvider,
  type Provider,
  type ProviderType,
} from './schema.js';
import { checkProviderName, type FieldSpec, findField, parseFieldInput } from './validate.js';

/** The settings an OIDC provider's token key is derived from (oidcSecretKey). */
const TOKEN_KEY_FIELDS = new Set([
  'gateway_url',
  'oidc.issuer',
  'oidc.client_id',
  'oidc.audience',
  'oidc.resource',
  'oidc.scopes',
]);

export interface FieldAssignment {
  spec: FieldSpec;
  value: unknown;
}

/** Parse `key=value` style assignments given on the command line. */
export function parseAssignments(pairs: ReadonlyArray<readonly [string, string]>): FieldAssignment[] {
  return pairs.map(([key, raw]) => {
    const spec = findField(key);
    if (!spec) {
      throw new ConfigError('E_CONFIG_INVALID', `unknown config key "${key}"`, {
        field: key,
        hint: 'run `gatepass config --help` for the list of keys',
      });
    }
    return { spec, value: parseFieldInput(spec, raw) };
  });
}

function getPath(root: object, key: string): unknown {
  let cur: unknown = root;
  for (const part of key.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
  return cur;
}

function setPath(root: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = root;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (!next || typeof next !== 'object') cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

function ensureProvider(config: GatepassConfig, name: string, type: ProviderType | undefined): Provider {
  const reason = checkProviderName(name);
  if (reason) throw new ConfigError('E_CONFIG_INVALID', `invalid provider: ${reason}`, { field: 'provider' });
  let provider = config.providers[name];
  if (!provider) {
    provider = newProvider(type ?? 'oidc');
    config.providers[name] = provider;
  } else if (type && provider.type !== type) {
    const section = provider.type === 'oidc' ? provider.oidc : provider.auth;
    if (Object.keys(section).length > 0) {
      throw new ConfigError(
        'E_CONFIG_INVALID',
        `provider "${name}" is of type ${provider.type} and has ${provider.type === 'oidc' ? 'oidc' : 'auth'} settings; cannot change it to ${type}`,
        { field: 'type', hint: `remove it first with \`gatepass config unset --provider ${name} --all\`` },
      );
    }
    const fresh = newProvider(type);
    if (provider.gateway_url) fresh.gateway_url = provider.gateway_url;
    provider = fresh;
    config.providers[name] = provider;
  }
  return provider;
}

/** Apply assignments to `config` for provider `providerName` (created when missing). */
export function applyAssignments(
  config: GatepassConfig,
  providerName: string,
  assignments: FieldAssignment[],
): void {
  const typeAssignment = assignments.find((a) => a.spec.key === 'type');
  const needsProvider = assignments.some((a) => a.spec.scope === 'provider');
  const inferredType =
    (typeAssignment?.value as ProviderType | undefined) ??
    (config.providers[providerName]
      ? undefined
      : assignments.find((a) => a.spec.providerType)?.spec.providerType);
  const existed = Object.keys(config.providers);
  const provider = needsProvider ? ensureProvider(config, providerName, inferredType) : undefined;
  // The first provider of a config is its default (`--provider corp` on an empty config): a plain
  // `gatepass token` then uses it instead of failing with "no provider named default".
  if (provider && existed.length === 0 && !config.providers[config.default_provider]) {
    config.default_provider = providerName;
  }
  for (const { spec, value } of assignments) {
    if (spec.key === 'type') continue;
    if (spec.scope === 'global') {
      setPath(config as unknown as Record<string, unknown>, spec.key, value);
      continue;
    }
    if (spec.providerType && provider && spec.providerType !== provider.type) {
      throw new ConfigError(
        'E_CONFIG_INVALID',
        `${spec.key} applies to ${spec.providerType} providers, but provider "${providerName}" is of type ${provider.type}`,
        {
          field: spec.key,
          hint: `use --provider to pick another provider, or --type ${spec.providerType} for a new one`,
        },
      );
    }
    const previousGateway = provider?.gateway_url;
    const previousValue = provider ? JSON.stringify(getPath(provider, spec.key)) : undefined;
    // A boolean option set to false is the same as not set: keep the file free of `false` noise.
    setPath(
      provider as unknown as Record<string, unknown>,
      spec.key,
      spec.kind === 'boolean' && value === false ? undefined : value,
    );
    if (provider) {
      pruneTls(provider);
      pruneEmptyBlock(provider as unknown as Record<string, unknown>, spec.key);
    }
    if (
      provider &&
      spec.key === 'gateway_url' &&
      previousGateway !== undefined &&
      previousGateway !== value
    ) {
      // Path prefixes setup found belong to the old gateway (unless given together with the new one).
      for (const key of ['anthropic_path_prefix', 'openai_path_prefix'] as const) {
        if (!assignments.some((a) => a.spec.key === key)) delete provider[key];
      }
    }
    if (
      provider?.type === 'oidc' &&
      TOKEN_KEY_FIELDS.has(spec.key) &&
      JSON.stringify(getPath(provider, spec.key)) !== previousValue
    ) {
      // The cached token reference belongs to the old settings (tokens are keyed by all of them).
      delete provider.token_ref;
    }
  }
  const defaultAssignment = assignments.find((a) => a.spec.key === 'default_provider');
  if (defaultAssignment && !config.providers[defaultAssignment.value as string]) {
    const name = defaultAssignment.value as string;
    throw new ConfigError(
      'E_CONFIG_INVALID',
      `invalid default_provider: there is no provider named "${name}"${
        Object.keys(config.providers).length
          ? ` (configured: ${Object.keys(config.providers).join(', ')})`
          : ''
      }`,
      {
        field: 'default_provider',
        hint: `configure it first, e.g. \`gatepass config set --provider ${name} --gateway-url …\`, or name it in the same command`,
      },
    );
  }
}

/** Remove fields (or a whole provider with `all`). Unknown keys are an error; absent ones are fine. */
export function unsetFields(config: GatepassConfig, providerName: string, keys: string[], all = false): void {
  if (all) {
    delete config.providers[providerName];
    // The default may not keep pointing at a provider that no longer exists.
    if (config.default_provider === providerName) config.default_provider = DEFAULT_PROVIDER;
    return;
  }
  for (const key of keys) {
    const spec = findField(key);
    if (!spec) {
      throw new ConfigError('E_CONFIG_INVALID', `unknown config key "${key}"`, {
        field: key,
        hint: 'run `gatepass config --help` for the list of keys',
      });
    }
    if (spec.key === 'type') {
      throw new ConfigError(
        'E_CONFIG_INVALID',
        'type cannot be unset; remove the provider with --all instead',
        { field: 'type' },
      );
    }
    if (spec.key === 'default_provider') {
      config.default_provider = DEFAULT_PROVIDER; // back to the built-in default, `default`
      continue;
    }
    if (spec.scope === 'global') {
      setPath(config as unknown as Record<string, unknown>, spec.key, undefined);
      continue;
    }
    const provider = config.providers[providerName];
    if (!provider) continue;
    setPath(provider as unknown as Record<string, unknown>, spec.key, undefined);
    pruneTls(provider);
    pruneEmptyBlock(provider as unknown as Record<string, unknown>, spec.key);
    if (provider.type === 'oidc' && TOKEN_KEY_FIELDS.has(spec.key)) delete provider.token_ref;
  }
}

/** Blocks a provider of its type always has, even empty (the schema requires them). */
const REQUIRED_BLOCKS = new Set(['oidc', 'auth', 'command']);

/**
 * Drop a provider's block of a dotted key (`otel.endpoint` → `otel`) once its last field is gone, so
 * `config unset otel.endpoint` leaves no `otel: {}` behind. Required blocks stay (and the top-level
 * `proxy` block, which the schema always has, is never pruned: only providers' blocks are).
 */
function pruneEmptyBlock(target: Record<string, unknown>, key: string): void {
  const dot = key.indexOf('.');
  if (dot < 0) return;
  const block = key.slice(0, dot);
  if (REQUIRED_BLOCKS.has(block)) return;
  const value = target[block];
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) {
    delete target[block];
  }
}

/** Drop an empty `tls` / `network` block left after its last option was cleared. */
function pruneTls(provider: Provider): void {
  if (provider.tls && Object.keys(provider.tls).length === 0) delete provider.tls;
  if (provider.network && Object.keys(provider.network).length === 0) delete provider.network;
}
