/**
 * Validation rules for every configuration field, as pure functions. Each rule names the field it
 * rejects and says what would be accepted, so `gatepass config set` can print an actionable error.
 *
 * Partial validation checks whatever fields are set; full validation additionally requires the
 * fields a provider needs to work and cross-field consistency. Full validation starts once the
 * mandatory fields of a provider are all present (gateway_url + issuer + client_id for OIDC).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ConfigError } from '../errors.js';
import { checkNoProxy, checkProxyUrl } from '../net/egress.js';
import {
  type CommandProvider,
  type ConfiguredTool,
  DEFAULT_CALLBACK_PORT,
  type GatepassConfig,
  isProviderConfigured,
  type OidcProvider,
  type Provider,
  type ProviderType,
} from './schema.js';

export type FieldKind =
  | 'url'
  | 'issuer'
  | 'port'
  | 'text'
  | 'client_id'
  | 'scopes'
  | 'seconds'
  | 'env_var'
  | 'command'
  | 'path'
  | 'provider_name'
  | 'provider_type'
  | 'url_path'
  | 'ca_file'
  | 'path_prefix'
  | 'models'
  | 'boolean'
  | 'callback_port'
  | 'auth_params'
  | 'secret_ref'
  | 'redirect_host'
  | 'token_kind'
  | 'proxy_url'
  | 'no_proxy';

export interface FieldSpec {
  /** The key as users write it: `gateway_url`, `oidc.issuer`, `proxy.listen_port`… */
  key: string;
  /** Where it lives: on the selected provider or at the top level. */
  scope: 'provider' | 'global';
  /** Only valid for providers of this type. */
  providerType?: ProviderType;
  kind: FieldKind;
  /** The `config set` flag. */
  flag: string;
  description: string;
  aliases?: string[];
}

export const FIELDS: readonly FieldSpec[] = [
  {
    key: 'gateway_url',
    scope: 'provider',
    kind: 'url',
    flag: '--gateway-url',
    description: 'base URL of the LLM gateway (https, or http on a loopback host)',
    aliases: ['base_url'],
  },
  {
    key: 'type',
    scope: 'provider',
    kind: 'provider_type',
    flag: '--type',
    description: 'provider type: oidc (gatepass logs in) or command (your own token command)',
  },
  {
    key: 'oidc.issuer',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'issuer',
    flag: '--issuer',
    description: 'OIDC issuer URL (discovery at /.well-known/openid-configuration)',
  },
  {
    key: 'oidc.client_id',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'client_id',
    flag: '--client-id',
    description: 'OIDC client ID registered for gatepass (public client, PKCE)',
  },
  {
    key: 'oidc.audience',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'text',
    flag: '--audience',
    description: 'audience (resource) the gateway expects in tokens, if your IdP needs one',
  },
  {
    key: 'oidc.resource',
    scope: 'provider',
    providerType: 'oidc',
    // Kept exactly as given (a trailing slash too): the resource indicator must match the server's.
    kind: 'issuer',
    flag: '--resource',
    description:
      "RFC 8707 resource indicator sent with every authorization, token and refresh request (setup finds it in the gateway's protected resource metadata)",
  },
  {
    key: 'oidc.scopes',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'scopes',
    flag: '--scopes',
    description:
      'exactly the scopes to request, comma or space separated (openid is always added; unset: openid profile email, plus offline_access when the IdP offers it)',
  },
  {
    key: 'oidc.callback_port',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'callback_port',
    flag: '--callback-port',
    description: `loopback port for the login callback (default ${DEFAULT_CALLBACK_PORT}; 0 = any free port, for IdPs that accept any loopback port)`,
  },
  {
    key: 'oidc.redirect_host',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'redirect_host',
    flag: '--redirect-host',
    description:
      'host of the redirect URI: 127.0.0.1 (default) or localhost (Entra ID registers http://localhost)',
  },
  {
    key: 'oidc.auth_params',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'auth_params',
    flag: '--auth-params',
    description:
      'extra authorization parameters, key=value joined by & or commas (e.g. access_type=offline&prompt=consent)',
  },
  {
    key: 'oidc.client_secret',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'secret_ref',
    flag: '--client-secret-stdin',
    description:
      'read the client secret (IdPs whose desktop clients have one, e.g. Google) from stdin into the secret store; the config keeps only its key',
  },
  {
    key: 'oidc.token',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'token_kind',
    flag: '--gateway-token',
    description:
      'token sent to the gateway: access_token (default) or id_token (Google IAP, some Entra setups)',
  },
  {
    key: 'auth.env_var',
    scope: 'provider',
    providerType: 'command',
    kind: 'env_var',
    flag: '--env-var',
    description: 'environment variable that, when set, supplies the token (wins over everything)',
  },
  {
    key: 'auth.token_command',
    scope: 'provider',
    providerType: 'command',
    kind: 'command',
    flag: '--token-command',
    description: 'command printing a token (bare or JSON) on stdout; may be interactive',
  },
  {
    key: 'auth.refresh_command',
    scope: 'provider',
    providerType: 'command',
    kind: 'command',
    flag: '--refresh-command',
    description: 'non-interactive command run when the cached token is near expiry',
  },
  {
    key: 'auth.token_cache',
    scope: 'provider',
    providerType: 'command',
    kind: 'path',
    flag: '--token-cache',
    description: "path of the token cache file (default in gatepass' cache dir)",
  },
  {
    key: 'auth.token_ttl',
    scope: 'provider',
    providerType: 'command',
    kind: 'seconds',
    flag: '--token-ttl',
    description: 'lifetime in seconds assumed for tokens that state no expiry',
  },
  {
    key: 'auth.timeout',
    scope: 'provider',
    providerType: 'command',
    kind: 'seconds',
    flag: '--timeout',
    description: 'timeout in seconds for the token and refresh commands (default 300)',
  },
  {
    key: 'auth.refresh_interval',
    scope: 'provider',
    providerType: 'command',
    kind: 'seconds',
    flag: '--refresh-interval',
    description: 'seconds between proactive refreshes in long-running consumers',
  },
  {
    key: 'api_type',
    scope: 'provider',
    kind: 'text',
    flag: '--api-type',
    description:
      'API dialect of the gateway: openai_compatible (default), responses or anthropic; sets the API type of the VS Code / Copilot for Xcode models (and is used by exports)',
  },
  {
    key: 'chat_completions_path',
    scope: 'provider',
    kind: 'url_path',
    flag: '--chat-completions-path',
    description: 'chat completions path relative to gateway_url (for exports)',
  },
  {
    key: 'models',
    scope: 'provider',
    kind: 'models',
    flag: '--models',
    description:
      'models the gateway serves, comma separated (Claude Desktop, OpenCode, VS Code, Copilot for Xcode, --bedrock-compat tiers); setup --models auto (the default) lists them from the gateway',
  },
  {
    key: 'models_discovered',
    scope: 'provider',
    kind: 'boolean',
    flag: '--models-discovered',
    description:
      'models was listed by the gateway (setup --models auto): setup refreshes it; false keeps the list as yours',
  },
  {
    key: 'models_pending',
    scope: 'provider',
    kind: 'boolean',
    flag: '--models-pending',
    description:
      'a lazy setup left model discovery to the first token: `gatepass token` or the proxy fills the models in once',
  },
  {
    key: 'bedrock_compat',
    scope: 'provider',
    kind: 'boolean',
    flag: '--bedrock-compat',
    description:
      'Claude Code against a Bedrock-backed gateway: no experimental betas, per-tier models from models',
  },
  {
    key: 'anthropic_path_prefix',
    scope: 'provider',
    kind: 'path_prefix',
    flag: '--anthropic-path-prefix',
    description:
      'path of the Anthropic API under gateway_url, e.g. /anthropic ("" for none; probed when unset)',
  },
  {
    key: 'openai_path_prefix',
    scope: 'provider',
    kind: 'path_prefix',
    flag: '--openai-path-prefix',
    description:
      'path of the OpenAI-style API under gateway_url, e.g. /openai ("" for none; probed when unset)',
  },
  {
    key: 'tls.ca_file',
    scope: 'provider',
    kind: 'ca_file',
    flag: '--ca-file',
    description:
      'PEM file of extra CA certificates trusted for the IdP and the gateway (corporate TLS interception)',
  },
  {
    key: 'tls.skip_verify',
    scope: 'provider',
    kind: 'boolean',
    flag: '--tls-skip-verify',
    description: 'do not verify TLS certificates of the IdP and the gateway: LOCAL DEVELOPMENT ONLY',
  },
  {
    key: 'network.proxy',
    scope: 'provider',
    kind: 'proxy_url',
    flag: '--egress-proxy',
    description:
      'HTTP(S) proxy for IdP and gateway requests, http://[user:pass@]host:port, or "direct" (wins over HTTPS_PROXY)',
  },
  {
    key: 'network.no_proxy',
    scope: 'provider',
    kind: 'no_proxy',
    flag: '--egress-no-proxy',
    description:
      'hosts that bypass the egress proxy, NO_PROXY syntax (domains, .suffix, CIDR, *); replaces NO_PROXY',
  },
  {
    key: 'proxy.listen_port',
    scope: 'global',
    kind: 'port',
    flag: '--proxy-port',
    description: 'loopback port of `gatepass proxy` (default 14000)',
  },
  {
    key: 'default_provider',
    scope: 'global',
    kind: 'provider_name',
    flag: '--default-provider',
    description: 'provider used when --provider is not given',
  },
];

export function findField(key: string): FieldSpec | undefined {
  return FIELDS.find((f) => f.key === key || f.aliases?.includes(key));
}

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

function invalid(field: string, reason: string, where?: string): never {
  throw new ConfigError('E_CONFIG_INVALID', `invalid ${field}${where ? ` (${where})` : ''}: ${reason}`, {
    field,
  });
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

// ---------------------------------------------------------------------------------------------
// Structural normalisation of a parsed YAML document into a GatepassConfig.

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
    out.providers[name] = provider as unknown as Provider;
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

type OidcProviderSettings = OidcProvider['oidc'];
