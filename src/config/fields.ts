/**
 * The configuration field table (data only): every field users can set, with its key, scope,
 * provider type, kind (which check applies), `config set` flag and description. The `config set`
 * flags, completion and docs/cli are generated from it; the checks live in check-field.ts, the
 * whole-config validation in validate.ts. Adding a field: one row here (and a kind in check-field.ts
 * when none fits).
 */
import { DEFAULT_CALLBACK_PORT, type ProviderType } from './schema.js';

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
    key: 'mcp.token_exchange',
    scope: 'provider',
    providerType: 'oidc',
    kind: 'boolean',
    flag: '--mcp-token-exchange',
    description:
      'MCP servers added with `gatepass mcp add` get a token for their own audience via token exchange at the IdP (RFC 8693) instead of the provider token',
  },
  {
    key: 'otel.endpoint',
    scope: 'provider',
    kind: 'url',
    flag: '--otel-endpoint',
    description:
      "OTLP/HTTP collector for Claude Code's telemetry: setup wires its exporter and otelHeadersHelper (`gatepass headers --otel`)",
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
