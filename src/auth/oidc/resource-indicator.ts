/**
 * RFC 8707 resource indicators: when the provider names the resource its tokens are for
 * (`oidc.resource`, found by zero-config setup in the gateway's protected resource metadata), the
 * `resource` parameter goes on the authorization request, the code exchange, the device grant and
 * every refresh. The refresh only sees openid-client's Configuration, so the resource travels with it.
 */
import type { OidcProvider } from '../../config/schema.js';

const byConfig = new WeakMap<object, string>();

/** `{ resource }` for the provider's requests, or nothing when it names no resource. */
export function resourceParams(provider: OidcProvider): Record<string, string> {
  return provider.oidc.resource ? { resource: provider.oidc.resource } : {};
}

/** Remember the provider's resource on a Configuration built for it (see refreshParams). */
export function attachResource<T extends object>(config: T, provider: OidcProvider): T {
  if (provider.oidc.resource) byConfig.set(config, provider.oidc.resource);
  return config;
}

/** The token-request parameters of a refresh with `config`: its provider's resource, if any. */
export function refreshParams(config: object): Record<string, string> | undefined {
  const resource = byConfig.get(config);
  return resource ? { resource } : undefined;
}
