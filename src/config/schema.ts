/**
 * The gatepass configuration model.
 *
 * ```yaml
 * version: 1
 * default_provider: default
 * providers:
 *   default:                     # an OIDC provider: gatepass runs the login itself
 *     type: oidc
 *     gateway_url: https://llm.example.com
 *     oidc:
 *       issuer: https://sso.example.com
 *       client_id: gatepass
 *       audience: llm-gateway     # optional
 *       scopes: [openid, profile, email, offline_access]
 *       callback_port: 8666
 *     token_ref: { secret_key: LLM_OAUTH_1a2b3c4d, expires_at: 1767225600 }  # written after login
 *   corp:                        # a command provider: the user's own SSO tooling makes the token
 *     type: command
 *     gateway_url: https://llm.corp.example.com
 *     auth:
 *       env_var: CORP_LLM_TOKEN
 *       token_command: corp-auth get-token
 * proxy:
 *   listen_port: 14000
 * configured_tools: []          # written by `gatepass setup`, read by `gatepass teardown`
 * ```
 */

export const CONFIG_VERSION = 1;
export const DEFAULT_PROVIDER = 'default';
export const DEFAULT_PROXY_PORT = 14000;
export const DEFAULT_CALLBACK_PORT = 8666;
export const DEFAULT_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];
/** The default scopes before offline_access, which is added only when the IdP offers it. */
export const DEFAULT_SCOPES_BASE: readonly string[] = ['openid', 'profile', 'email'];
export const DEFAULT_COMMAND_TIMEOUT_S = 300;
/** How long an interactive OIDC login waits unless GATEPASS_LOGIN_TIMEOUT says otherwise (auth/oidc/timeouts.ts). */
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

export type ProviderType = 'oidc' | 'command';

export interface OidcSettings {
  issuer?: string;
  client_id?: string;
  audience?: string;
  /** RFC 8707 resource indicator sent on authorization, token and refresh requests (zero-config setup finds it). */
  resource?: string;
  /** Exactly the scopes to request (`openid` is always included); unset: DEFAULT_SCOPES_BASE + offline_access when offered. */
  scopes?: string[];
  /** Loopback port of the login callback; 0 = an ephemeral port (RFC 8252 §7.3). */
  callback_port?: number;
  /** Extra authorization-request parameters (Google `access_type`, Entra `domain_hint`, Okta `idp`). */
  auth_params?: Record<string, string>;
  /** Secret-store key of the client secret (`LLM_OIDC_CS_<8 hex>`), never the secret itself. */
  client_secret?: string;
  /** Host name in the redirect URI: `127.0.0.1` (default) or `localhost` (Entra). */
  redirect_host?: '127.0.0.1' | 'localhost';
  /** Which token is sent to the gateway: the access token (default) or the ID token (Google IAP). */
  token?: 'access_token' | 'id_token';
}

/** Who signed in, from the ID token's claims (never a token): shown by `gatepass status`. */
export interface TokenIdentity {
  sub?: string;
  email?: string;
  preferred_username?: string;
  name?: string;
}

export interface TokenRef {
  /** Secret-store key of the refresh token. */
  secret_key: string;
  /** Expiry (epoch seconds) of the access token obtained with it, when known. */
  expires_at?: number;
  /** The signed-in identity (ID token claims), when the IdP sent an ID token. */
  identity?: TokenIdentity;
}

export interface CommandAuthSettings {
  /** Environment variable that, when set, always supplies the token (CI override). */
  env_var?: string;
  /** Command that produces a token (may be interactive). Run through the shell. */
  token_command?: string;
  /** Optional non-interactive command run when the cached token is near expiry. */
  refresh_command?: string;
  /** Path of the token cache file; default in gatepass' cache dir. */
  token_cache?: string;
  /** Lifetime (seconds) assumed for tokens that state no expiry. */
  token_ttl?: number;
  /** Timeout (seconds) for token_command / refresh_command. */
  timeout?: number;
  /** How often (seconds) a long-running consumer (the proxy) refreshes proactively. */
  refresh_interval?: number;
}

/**
 * TLS options for corporate networks, per provider (they cover its IdP and its gateway): an extra CA
 * bundle (PEM) trusted on top of the system roots, and — for local development only — skipping
 * certificate verification.
 */
export interface TlsSettings {
  /** Absolute path of a PEM file with one or more extra CA certificates. */
  ca_file?: string;
  /** Do not verify TLS certificates at all (local development only; warned on every use). */
  skip_verify?: boolean;
}

/** Egress proxy for the IdP and gateway connections (wins over HTTPS_PROXY / NO_PROXY). */
export interface NetworkSettings {
  /** Proxy URL (`http://[user:pass@]host:port`), or `direct` to ignore the environment's proxy. */
  proxy?: string;
  /** Hosts never proxied, NO_PROXY syntax; replaces NO_PROXY when set. */
  no_proxy?: string;
}

interface ProviderCommon {
  /**
   * Set by `gatepass logout` (and a teardown that deletes tokens), cleared by `gatepass login` and
   * `setup`: `gatepass token` and the proxy then refuse to start a login ("you are logged out").
   * Absent on a provider that never logged in (a lazy setup's "login pending").
   */
  logged_out?: boolean;
  /** TLS options for the IdP and gateway connections. */
  tls?: TlsSettings;
  /** Egress proxy options for the IdP and gateway connections. */
  network?: NetworkSettings;
  /** Base URL of the LLM gateway this provider's tokens are for. */
  gateway_url?: string;
  /** API dialect of the gateway, e.g. `openai_compatible` or `anthropic` (informational, for exports). */
  api_type?: string;
  /** Path of the chat-completions endpoint relative to gateway_url (for exports). */
  chat_completions_path?: string;
  /** A lazy setup left model discovery to the first token (`gatepass token` or the proxy fills them in once). */
  models_pending?: boolean;
  /** Models the gateway serves (`setup --models`). */
  models?: string[];
  /** `models` was listed by the gateway (`--models auto`): later runs refresh it; a user's list is kept. */
  models_discovered?: boolean;
  /** Claude Code wired for a Bedrock-backed gateway (`setup --bedrock-compat`). */
  bedrock_compat?: boolean;
  /** Path of the Anthropic API under gateway_url ("" = none); set by flag or by setup's probe. */
  anthropic_path_prefix?: string;
  /** Path of the OpenAI-style API under gateway_url ("" = none); set by flag or by setup's probe. */
  openai_path_prefix?: string;
  /** MCP servers (`gatepass mcp add`): token exchange per server (OIDC providers only). */
  mcp?: { token_exchange?: boolean };
  /** Claude Code telemetry (`setup --otel-endpoint`): the OTLP/HTTP collector. */
  otel?: { endpoint?: string };
}

export interface OidcProvider extends ProviderCommon {
  type: 'oidc';
  oidc: OidcSettings;
  token_ref?: TokenRef;
}

export interface CommandProvider extends ProviderCommon {
  type: 'command';
  auth: CommandAuthSettings;
}

export type Provider = OidcProvider | CommandProvider;

export interface ProxySettings {
  listen_port?: number;
}

/** One tool wired by `gatepass setup`; the tool module owns `changes` (what to undo). */
export interface ConfiguredTool {
  tool: string;
  mode: 'direct' | 'proxy' | 'manual';
  config_path: string;
  provider?: string;
  [key: string]: unknown;
}

export interface GatepassConfig {
  version: number;
  default_provider: string;
  providers: Record<string, Provider>;
  proxy: ProxySettings;
  configured_tools: ConfiguredTool[];
}

export function emptyConfig(): GatepassConfig {
  return {
    version: CONFIG_VERSION,
    default_provider: DEFAULT_PROVIDER,
    providers: {},
    proxy: {},
    configured_tools: [],
  };
}

export function newProvider(type: ProviderType): Provider {
  // gateway_url is listed (undefined) so a value set later is written before the settings block.
  return type === 'oidc'
    ? { type: 'oidc', gateway_url: undefined, oidc: {} }
    : { type: 'command', gateway_url: undefined, auth: {} };
}

export function effectiveProxyPort(config: GatepassConfig): number {
  return config.proxy.listen_port ?? DEFAULT_PROXY_PORT;
}

export function effectiveCallbackPort(provider: OidcProvider): number {
  return provider.oidc.callback_port ?? DEFAULT_CALLBACK_PORT;
}

/**
 * Scopes to request. `oidc.scopes`, when set, is used as is (plus `openid`): Google, for one, rejects
 * `offline_access`. Unset: openid, profile, email, and offline_access when the IdP's discovery lists
 * it in `scopes_supported` (or lists nothing); without discovery (`supported` undefined) it is assumed.
 */
export function effectiveScopes(provider: OidcProvider, supported?: readonly string[] | null): string[] {
  if (provider.oidc.scopes?.length) {
    const scopes = [...provider.oidc.scopes];
    if (!scopes.includes('openid')) scopes.unshift('openid');
    return scopes;
  }
  const offered = !Array.isArray(supported) || supported.includes('offline_access');
  return offered ? [...DEFAULT_SCOPES] : [...DEFAULT_SCOPES_BASE];
}

/** True when the provider has everything it needs to produce tokens. */
export function isProviderConfigured(provider: Provider | undefined): boolean {
  if (!provider) return false;
  if (provider.type === 'oidc') {
    return Boolean(provider.gateway_url && provider.oidc.issuer && provider.oidc.client_id);
  }
  return Boolean(provider.gateway_url && (provider.auth.token_command || provider.auth.env_var));
}
