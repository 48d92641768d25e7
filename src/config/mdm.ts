/**
 * Fleet payloads for `gatepass mdm print`: the managed configuration (managed.ts) of one provider,
 * as the YAML file to install (`yaml`), a macOS configuration profile carrying the same keys
 * (`mobileconfig`) and a Windows registry file (`reg`). Only settings travel: never a token
 * reference, a login state or the list of wired tools (those are each user's own).
 *
 * The profile and the .reg carry the managed file's keys for MDM tools that deploy those formats;
 * gatepass reads the YAML file, the managed preferences a profile installs and the policy registry
 * key the .reg file creates (managed.ts, registry.ts).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { WINDOWS_POLICY_KEY } from './paths.js';
import type { GatepassConfig, Provider } from './schema.js';

export const MDM_FORMATS = ['yaml', 'mobileconfig', 'reg'] as const;
export type MdmFormat = (typeof MDM_FORMATS)[number];

/** The preference domain of the profile payload and the registry key's leaf. */
export const MDM_DOMAIN = 'dev.gatepass.cli';
export const REG_KEY = WINDOWS_POLICY_KEY;

/** The data of a managed file defining provider `name` (as its YAML would parse). */
export function managedData(
  config: GatepassConfig,
  name: string,
  provider: Provider,
): Record<string, unknown> {
  const { token_ref: _t, logged_out: _l, ...settings } = provider as Provider & Record<string, unknown>;
  const clean = JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
  for (const section of ['oidc', 'auth', 'tls', 'network']) {
    const v = clean[section];
    if (v && typeof v === 'object' && Object.keys(v).length === 0) delete clean[section];
  }
  const locked =
    provider.type === 'oidc'
      ? ['gateway_url', 'oidc.issuer', 'oidc.client_id']
      : ['gateway_url', 'auth.token_command'];
  return {
    default_provider: name,
    providers: { [name]: clean },
    ...(config.proxy.listen_port !== undefined ? { proxy: { listen_port: config.proxy.listen_port } } : {}),
    locked: locked.filter(
      (k) =>
        k === 'gateway_url' ||
        k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], clean) !== undefined,
    ),
  };
}

export function managedYaml(data: Record<string, unknown>): string {
  return `# gatepass managed configuration. Install as /etc/gatepass/config.yaml (Linux),
# /Library/Application Support/gatepass/config.yaml (macOS) or %ProgramData%\\gatepass\\config.yaml
# (Windows), owned by root/Administrators and not writable by others.
${stringify(data, { lineWidth: 0 })}`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function plistValue(v: unknown, indent: string): string {
  if (typeof v === 'string') return `${indent}<string>${xmlEscape(v)}</string>`;
  if (typeof v === 'number') return `${indent}<integer>${Math.trunc(v)}</integer>`;
  if (typeof v === 'boolean') return `${indent}<${v}/>`;
  if (Array.isArray(v)) {
    return [`${indent}<array>`, ...v.map((x) => plistValue(x, `${indent}  `)), `${indent}</array>`].join(
      '\n',
    );
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(
    ([, x]) => x !== undefined && x !== null,
  );
  return [
    `${indent}<dict>`,
    ...entries.flatMap(([k, x]) => [`${indent}  <key>${xmlEscape(k)}</key>`, plistValue(x, `${indent}  `)]),
    `${indent}</dict>`,
  ].join('\n');
}

/** A deterministic UUID (v4 layout) from `seed`, so printing twice gives the same profile. */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

export function managedMobileconfig(data: Record<string, unknown>, name: string): string {
  const payload = {
    PayloadType: MDM_DOMAIN,
    PayloadIdentifier: `${MDM_DOMAIN}.settings.${name}`,
    PayloadUUID: uuidFrom(`payload:${JSON.stringify(data)}`),
    PayloadVersion: 1,
    PayloadDisplayName: `gatepass (${name})`,
    ...data,
  };
  const profile = {
    PayloadContent: [payload],
    PayloadDescription: `gatepass managed configuration for provider ${name}`,
    PayloadDisplayName: 'gatepass',
    PayloadIdentifier: `${MDM_DOMAIN}.profile`,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: uuidFrom(`profile:${JSON.stringify(data)}`),
    PayloadVersion: 1,
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${plistValue(profile, '')}
</plist>
`;
}

function regString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** REG_MULTI_SZ as `hex(7):` UTF-16LE bytes, each string and the list NUL-terminated. */
function regMulti(list: unknown[]): string {
  const bytes = Buffer.from(`${list.map(String).join('\0')}\0\0`, 'utf16le');
  return `hex(7):${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(',')}`;
}

function regValue(v: unknown): string {
  if (typeof v === 'number') return `dword:${(v >>> 0).toString(16).padStart(8, '0')}`;
  if (typeof v === 'boolean') return `dword:0000000${v ? 1 : 0}`;
  if (Array.isArray(v)) return regMulti(v);
  return regString(String(v));
}

/**
 * A .reg file: one key per mapping (`…\gatepass\providers\corp\oidc`), values as REG_SZ, REG_DWORD
 * (numbers, booleans) or REG_MULTI_SZ (lists). Booleans read back as 0/1.
 */
export function managedReg(data: Record<string, unknown>): string {
  const lines = ['Windows Registry Editor Version 5.00', ''];
  const emit = (key: string, obj: Record<string, unknown>): void => {
    const scalars = Object.entries(obj).filter(([, v]) => !(v && typeof v === 'object' && !Array.isArray(v)));
    lines.push(`[${key}]`, ...scalars.map(([k, v]) => `${regString(k)}=${regValue(v)}`), '');
    for (const [k, v] of Object.entries(obj)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) emit(`${key}\\${k}`, v as Record<string, unknown>);
    }
  };
  emit(REG_KEY, data);
  return lines.join('\r\n');
}
