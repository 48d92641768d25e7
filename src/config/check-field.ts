/**
 * The checks of one field value, as pure functions: `checkFieldValue` by the field's kind (each
 * reason names what would be accepted, so `gatepass config set` prints an actionable error),
 * `parseFieldInput` from a command-line string, `getFieldValue` reading a dotted key, and the
 * shared checks (loopback hosts, provider names, CA files).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ConfigError } from '../errors.js';
import { checkNoProxy, checkProxyUrl } from './egress-syntax.js';
import type { FieldSpec } from './fields.js';
import type { GatepassConfig, Provider } from './schema.js';

const LOOPBACK_V4 = /^127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * True for host names that always mean this machine: localhost, 127.0.0.0/8, ::1. Not `localhost.`:
 * a fully qualified name goes to DNS, not to /etc/hosts, so whoever answers DNS decides where it
 * points — plain http to it would carry tokens off the machine.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || LOOPBACK_V4.test(h);
}

function checkUrl(value: string, { issuer }: { issuer: boolean }): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a valid absolute URL (expected e.g. https://llm.example.com)`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `scheme "${url.protocol.replace(/:$/, '')}" is not supported; use https://`;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return `must use https:// (plain http is only allowed for loopback hosts such as localhost or 127.0.0.1), got ${url.origin}`;
  }
  if (url.username || url.password) return 'must not contain credentials (user:password@)';
  if (url.hash) return 'must not contain a #fragment';
  if (issuer && url.search) return 'an OIDC issuer must not contain a ?query';
  if (!url.hostname) return 'has no host';
  return undefined;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/; // RFC 6749 §3.3 scope-token
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Validate one field value (already parsed to its type). Returns a reason, or undefined when valid. */
export function checkFieldValue(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'url':
    case 'issuer':
      if (typeof value !== 'string' || !value) return 'must be a non-empty URL';
      return checkUrl(value, { issuer: spec.kind === 'issuer' });
    case 'port':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
        return `must be a whole number from 1 to 65535, got ${JSON.stringify(value)}`;
      }
      return undefined;
    case 'seconds':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 7 * 24 * 3600) {
        return `must be a whole number of seconds from 1 to 604800, got ${JSON.stringify(value)}`;
      }
      return undefined;
    case 'client_id':
      if (typeof value !== 'string' || !value) return 'must not be empty';
      if (/\s/.test(value) || CONTROL.test(value)) return 'must not contain spaces or control characters';
      if (value.length > 256) return 'is longer than 256 characters';
      return undefined;
    case 'text':
      if (typeof value !== 'string' || !value.trim()) return 'must not be empty';
      if (CONTROL.test(value)) return 'must not contain control characters';
      if (value.length > 1024) return 'is longer than 1024 characters';
      return undefined;
    case 'scopes': {
      if (!Array.isArray(value) || value.length === 0) return 'must list at least one scope';
      const bad = value.find((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s));
      if (bad !== undefined)
        return `${JSON.stringify(bad)} is not a valid scope (no spaces, quotes or backslashes)`;
      return undefined;
    }
    case 'env_var':
      if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
        return `${JSON.stringify(value)} is not a valid environment variable name (letters, digits, _; not starting with a digit)`;
      }
      return undefined;
    case 'command':
      if (typeof value !== 'string' || !value.trim()) return 'must be a non-empty command line';
      if (/[\u0000\r\n]/.test(value)) return 'must be a single line';
      return undefined;
    case 'path':
      if (typeof value !== 'string' || !value) return 'must be a non-empty path';
      if (value.includes('\u0000')) return 'must not contain NUL';
      if (
        !(
          value.startsWith('/') ||
          value.startsWith('~/') ||
          /^[A-Za-z]:[\\/]/.test(value) ||
          value.startsWith('\\\\')
        )
      ) {
        return 'must be an absolute path (or start with ~/)';
      }
      return undefined;
    case 'provider_name':
      return checkProviderName(value);
    case 'provider_type':
      return value === 'oidc' || value === 'command'
        ? undefined
        : `must be "oidc" or "command", got ${JSON.stringify(value)}`;
    case 'url_path':
      if (typeof value !== 'string' || !value.startsWith('/') || /\s|[?#]/.test(value)) {
        return 'must be a path starting with / (no spaces, query or fragment)';
      }
      return undefined;
    case 'ca_file':
      return checkFieldValue({ ...spec, kind: 'path' }, value);
    case 'path_prefix':
      if (typeof value !== 'string' || !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/.test(value)) {
        return `${JSON.stringify(value)} is not a path prefix (e.g. /anthropic; "" for none; no trailing slash, query or spaces)`;
      }
      return undefined;
    case 'models': {
      if (!Array.isArray(value) || value.length === 0) return 'must list at least one model';
      const bad = value.find(
        (m) => typeof m !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(m) || m.includes(','),
      );
      if (bad !== undefined) return `${JSON.stringify(bad)} is not a valid model id (no spaces or commas)`;
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${JSON.stringify(value)}`;
    case 'callback_port':
      if (value === 0) return undefined;
      return checkFieldValue({ ...spec, kind: 'port' }, value);
    case 'auth_params':
      return checkAuthParams(value);
    case 'secret_ref':
      return typeof value === 'string' && /^LLM_OIDC_CS_[0-9a-f]{8}$/.test(value)
        ? undefined
        : 'holds the secret-store key of the client secret, never the secret: set it with `gatepass config set --client-secret-stdin` (reads stdin)';
    case 'redirect_host':
      return value === '127.0.0.1' || value === 'localhost'
        ? undefined
        : `must be "127.0.0.1" or "localhost", got ${JSON.stringify(value)}`;
    case 'token_kind':
      return value === 'access_token' || value === 'id_token'
        ? undefined
        : `must be "access_token" or "id_token", got ${JSON.stringify(value)}`;
    case 'proxy_url':
      if (typeof value !== 'string' || !value) return 'must be a proxy URL or "direct"';
      return checkProxyUrl(value);
    case 'no_proxy':
      if (typeof value !== 'string' || !value.trim()) return 'must list at least one host';
      return checkNoProxy(value);
  }
}

/** Parameters the login sets itself: an auth_params entry may not override them. */
const RESERVED_AUTH_PARAMS = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
]);

function checkAuthParams(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return 'must be a mapping of parameter names to values';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return 'must have at least one parameter';
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(k)) return `${JSON.stringify(k)} is not a parameter name`;
    if (RESERVED_AUTH_PARAMS.has(k)) {
      return `"${k}" is set by gatepass itself${k === 'scope' ? ' (use oidc.scopes)' : ''}`;
    }
    if (typeof v !== 'string' || CONTROL.test(v) || v.length > 512) {
      return `the value of "${k}" must be a single-line string`;
    }
  }
  return undefined;
}

/** `a=1&b=2` or `a=1,b=2` → { a: '1', b: '2' } (values may be %-encoded). */
function parseAuthParams(raw: string): unknown {
  const out: Record<string, string> = {};
  for (const part of raw.split(/[&,]/)) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) return `${JSON.stringify(t)} is not a name=value pair`;
    let v = t.slice(eq + 1);
    try {
      v = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      return `${JSON.stringify(t)} has a malformed %-escape`;
    }
    out[t.slice(0, eq)] = v;
  }
  return out;
}

export function checkProviderName(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(value)) {
    return `${JSON.stringify(value)} is not a valid provider name (letters, digits, . _ -; up to 63 characters)`;
  }
  return undefined;
}

/** Parse a command-line string into the field's type. Throws ConfigError naming the field. */
export function parseFieldInput(spec: FieldSpec, raw: string): unknown {
  const fail = (reason: string): never => {
    throw new ConfigError('E_CONFIG_INVALID', `invalid ${spec.key}: ${reason}`, { field: spec.key });
  };
  let value: unknown = raw;
  switch (spec.kind) {
    case 'port':
    case 'seconds': {
      const t = raw.trim();
      if (!/^\d+$/.test(t)) fail(`must be a whole number, got ${JSON.stringify(raw)}`);
      value = Number(t);
      break;
    }
    case 'scopes':
    case 'models':
      value = raw.split(/[\s,]+/).filter(Boolean);
      break;
    case 'callback_port': {
      const t = raw.trim();
      if (!/^\d+$/.test(t)) fail(`must be a whole number (0 for any free port), got ${JSON.stringify(raw)}`);
      value = Number(t);
      break;
    }
    case 'auth_params': {
      const parsed = parseAuthParams(raw);
      if (typeof parsed === 'string') fail(parsed);
      value = parsed;
      break;
    }
    case 'boolean': {
      const t = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) value = true;
      else if (['false', '0', 'no', 'off'].includes(t)) value = false;
      else fail(`must be true or false, got ${JSON.stringify(raw)}`);
      break;
    }
    case 'path_prefix': {
      // "/anthropic/" and "anthropic" mean /anthropic; "", "/" and "none" mean no prefix.
      const t = raw.trim().replace(/\/+$/, '');
      value = t === '' || t.toLowerCase() === 'none' ? '' : t.startsWith('/') ? t : `/${t}`;
      break;
    }
    case 'url':
    case 'issuer':
      value = raw.trim().replace(/\/+$/, (m) => (spec.kind === 'url' ? '' : m));
      break;
    case 'ca_file': {
      // A relative path is resolved now: the file is read later from other working directories.
      const t = raw.trim();
      value = t && !t.startsWith('~/') && !/^[A-Za-z]:[\\/]/.test(t) ? resolvePath(t) : t;
      break;
    }
    default:
      value = spec.kind === 'command' ? raw : raw.trim();
  }
  const reason = checkFieldValue(spec, value);
  if (reason) fail(reason);
  if (spec.kind === 'ca_file') {
    // Checked when given (not on every load): the file must exist and hold PEM certificates.
    const problem = checkCaFile(value as string);
    if (problem) fail(problem);
  }
  return value;
}

/** Why a CA file is unusable (missing, unreadable, no PEM certificate), or undefined when fine. */
export function checkCaFile(file: string, home: string = homedir()): string | undefined {
  const abs = file.startsWith('~/') ? `${home}/${file.slice(2)}` : file;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file} (${code ?? 'error'})`;
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  for (const [i, pem] of blocks.entries()) {
    try {
      new X509Certificate(pem);
    } catch {
      return `certificate ${i + 1} in ${file} is not a valid X.509 certificate`;
    }
  }
  return undefined;
}

/** Read a dotted key from a provider or the config. */
export function getFieldValue(
  config: GatepassConfig,
  provider: Provider | undefined,
  spec: FieldSpec,
): unknown {
  const root: Record<string, unknown> =
    spec.scope === 'global'
      ? (config as unknown as Record<string, unknown>)
      : ((provider ?? {}) as Record<string, unknown>);
  let cur: unknown = root;
  for (const part of spec.key.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
