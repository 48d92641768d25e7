/**
 * The config keys `setup` takes as inline flags. Read by the definition (defs/setup.ts) and the
 * command (commands/setup.ts); its own module so the two never import each other.
 */
/** Inline config flags `setup` accepts (validated exactly like `config set`). */
export const SETUP_FIELDS = [
  'gateway_url',
  'oidc.issuer',
  'oidc.client_id',
  'oidc.audience',
  'oidc.resource',
  'oidc.scopes',
  'oidc.callback_port',
  'oidc.redirect_host',
  'oidc.auth_params',
  'oidc.token',
  'proxy.listen_port',
  'models',
  'api_type',
  'anthropic_path_prefix',
  'openai_path_prefix',
  'tls.ca_file',
  'tls.skip_verify',
  'network.proxy',
  'network.no_proxy',
  'otel.endpoint',
] as const;
