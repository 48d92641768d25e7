/**
 * Structural normalisation of a parsed YAML document into a GatepassConfig: wrong types are refused
 * with the path of the offending node (E_CONFIG_MALFORMED); value checks are validate.ts'.
 */
import { ConfigError } from '../errors.js';
import { getFieldValue } from './check-field.js';
import { FIELDS } from './fields.js';
import type { ConfiguredTool, GatepassConfig, OidcProvider, Provider } from './schema.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(file: string, where: string, reason: string): never {
  throw new ConfigError('E_CONFIG_MALFORMED', `config file ${file} is malformed: ${where} ${reason}`, {
    field: where,
    hint: `fix or remove the file (\`gatepass config path\` shows where it is)`,
  });
}

/**
 * Turn whatever YAML held into a typed config, refusing wrong types with the path of the offending
 * node. Unknown keys are kept (forward compatibility) but not interpreted.
 */
export function normalizeConfig(raw: unknown, file: string): GatepassConfig {
  if (raw === null || raw === undefined) raw = {};
  if (!isRecord(raw)) malformed(file, 'the document', 'is not a mapping');
  const out: GatepassConfig = {
    ...(raw as object),
    version: typeof raw['version'] === 'number' ? raw['version'] : 1,
    default_provider: typeof raw['default_provider'] === 'string' ? raw['default_provider'] : 'default',
    providers: {},
    proxy: {},
    configured_tools: [],
  };
  if (raw['default_provider'] !== undefined && typeof raw['default_provider'] !== 'string')
    malformed(file, 'default_provider', 'is not a string');
  if (raw['version'] !== undefined && typeof raw['version'] !== 'number')
    malformed(file, 'version', 'is not a number');
  if (typeof out.version === 'number' && out.version > 1) {
    malformed(
      file,
      'version',
      `is ${out.version}, newer than this gatepass understands (1); upgrade gatepass`,
    );
  }
  const providers = raw['providers'] ?? {};
  if (!isRecord(providers)) malformed(file, 'providers', 'is not a mapping');
  for (const [name, p] of Object.entries(providers)) {
    out.providers[name] = normalizeProvider(file, name, p);
  }
  const proxy = raw['proxy'] ?? {};
  if (!isRecord(proxy)) malformed(file, 'proxy', 'is not a mapping');
  if (proxy['listen_port'] !== undefined && typeof proxy['listen_port'] !== 'number') {
    malformed(file, 'proxy.listen_port', 'is not a number');
  }
  out.proxy = { ...proxy };
  const tools = raw['configured_tools'] ?? [];
  if (!Array.isArray(tools)) malformed(file, 'configured_tools', 'is not a list');
  tools.forEach((t, i) => {
    if (!isRecord(t) || typeof t['tool'] !== 'string')
      malformed(file, `configured_tools[${i}]`, 'must have a string tool');
  });
  out.configured_tools = tools as ConfiguredTool[];
  return out;
}

/** One entry of `providers`: its type, gateway_url (or the older base_url) and sections. */
function normalizeProvider(file: string, name: string, p: unknown): Provider {
  if (!isRecord(p)) malformed(file, `providers.${name}`, 'is not a mapping');
  const type = p['type'] ?? (p['auth'] !== undefined && p['oidc'] === undefined ? 'command' : 'oidc');
  if (type !== 'oidc' && type !== 'command')
    malformed(file, `providers.${name}.type`, 'must be oidc or command');
  const gateway = p['gateway_url'] ?? p['base_url'];
  if (gateway !== undefined && typeof gateway !== 'string')
    malformed(file, `providers.${name}.gateway_url`, 'is not a string');
  const provider: Record<string, unknown> = { ...p, type };
  delete provider['base_url'];
  if (gateway !== undefined) provider['gateway_url'] = gateway;
  for (const section of ['tls', 'network'] as const) {
    if (p[section] !== undefined && !isRecord(p[section]))
      malformed(file, `providers.${name}.${section}`, 'is not a mapping');
  }
  const section = type === 'oidc' ? 'oidc' : 'auth';
  const sub = p[section] ?? {};
  if (!isRecord(sub)) malformed(file, `providers.${name}.${section}`, 'is not a mapping');
  provider[section] = { ...sub };
  if (type === 'oidc' && p['token_ref'] !== undefined) {
    const ref = p['token_ref'];
    if (!isRecord(ref) || typeof ref['secret_key'] !== 'string') {
      malformed(file, `providers.${name}.token_ref`, 'must have a string secret_key');
    }
  }
  normalizeProviderFields(file, name, type, provider);
  return provider as unknown as Provider;
}

/** The table's fields of one provider: each of its type (lists may be given as a string). */
function normalizeProviderFields(
  file: string,
  name: string,
  type: 'oidc' | 'command',
  provider: Record<string, unknown>,
): void {
  for (const spec of FIELDS) {
    if (spec.scope !== 'provider' || spec.key === 'type') continue;
    if (spec.providerType && spec.providerType !== type) continue;
    const v = getFieldValue({} as GatepassConfig, provider as unknown as Provider, spec);
    if (v === undefined) continue;
    const wantNumber = spec.kind === 'port' || spec.kind === 'seconds' || spec.kind === 'callback_port';
    if (spec.kind === 'auth_params') {
      if (!isRecord(v)) malformed(file, `providers.${name}.${spec.key}`, 'is not a mapping');
      continue;
    }
    const wantArray = spec.kind === 'scopes' || spec.kind === 'models';
    const wantBoolean = spec.kind === 'boolean';
    const ok = wantArray
      ? Array.isArray(v) || typeof v === 'string'
      : wantNumber
        ? typeof v === 'number'
        : wantBoolean
          ? typeof v === 'boolean'
          : typeof v === 'string';
    if (!ok)
      malformed(
        file,
        `providers.${name}.${spec.key}`,
        `is not a ${wantArray ? 'list' : wantNumber ? 'number' : wantBoolean ? 'boolean' : 'string'}`,
      );
    if (wantArray && typeof v === 'string') {
      const list = v.split(/[\s,]+/).filter(Boolean);
      if (spec.kind === 'scopes') (provider['oidc'] as OidcProviderSettings).scopes = list;
      else provider[spec.key] = list;
    }
  }
}

type OidcProviderSettings = OidcProvider['oidc'];
