/**
 * The authorization server side of zero-config setup: its metadata (OpenID Connect discovery, with
 * openid-client's issuer check) and, when no client id is configured, Dynamic Client Registration
 * (RFC 7591) of gatepass as a public native client with loopback redirect URIs (RFC 8252), through
 * openid-client's `dynamicClientRegistration`. Every request goes through the provider's TLS options
 * and egress proxy; every endpoint and value the server returns is checked before it is used or
 * saved (https, or http on loopback; a client id without spaces or control characters).
 */
import * as oidc from 'openid-client';
import type { OidcProvider } from '../../config/schema.js';
import { checkFieldValue, findField, isLoopbackHost } from '../../config/validate.js';
import { ConfigError } from '../../errors.js';
import { egressPlan } from '../../net/egress.js';
import { createTlsFetch, resolveTls } from '../../net/tls.js';
import { registerSecret, stripControl } from '../../redact.js';
import { httpTimeoutSeconds, mapOidcError } from './client.js';
import { urlProblem } from './resource-metadata.js';

/** The client id openid-client needs to read metadata before gatepass has one. */
const NO_CLIENT = 'gatepass-unregistered';

export interface AuthorizationServerInfo {
  issuer: string;
  registrationEndpoint?: string;
  scopesSupported?: string[];
  /** token_endpoint_auth_methods_supported, when listed. */
  authMethods?: string[];
}

export interface RegisteredClient {
  clientId: string;
  /** Present when the server made a confidential client (kept in the secret store, never the config). */
  clientSecret?: string;
}

async function requestOptions(
  provider: OidcProvider,
  env: NodeJS.ProcessEnv,
): Promise<oidc.DiscoveryRequestOptions> {
  const issuer = new URL(provider.oidc.issuer!);
  const insecure = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
  const tls = resolveTls(provider.tls, env);
  const plan = egressPlan(provider.network, env);
  const baseFetch = tls || plan.active ? await createTlsFetch(tls, plan) : undefined;
  return {
    execute: insecure ? [oidc.allowInsecureRequests] : [],
    timeout: httpTimeoutSeconds(env),
    ...(baseFetch ? { [oidc.customFetch]: baseFetch as oidc.CustomFetch } : {}),
  };
}

function refuse(issuer: string, what: string): ConfigError {
  return new ConfigError(
    'E_CONFIG_INVALID',
    `the authorization server ${stripControl(issuer, { singleLine: true })} ${what}`,
    {
      field: 'oidc.issuer',
      hint: 'ask your identity provider admin to fix its metadata, or give --issuer and --client-id yourself',
    },
  );
}

/** Check the endpoints gatepass will send a user or a token to. */
function checkEndpoints(issuer: string, md: oidc.ServerMetadata): void {
  for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint'] as const) {
    const value = md[key];
    if (value === undefined && key === 'registration_endpoint') continue;
    const problem = urlProblem(value);
    if (problem)
      throw refuse(
        issuer,
        `publishes an unusable ${key} ${stripControl(String(value), { singleLine: true })} (${problem})`,
      );
  }
}

/** The authorization server's metadata (OIDC discovery; its `issuer` must be exactly `issuer`). */
export async function readAuthorizationServer(
  provider: OidcProvider,
  env: NodeJS.ProcessEnv,
): Promise<AuthorizationServerInfo> {
  const issuer = provider.oidc.issuer!;
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(
      new URL(issuer),
      NO_CLIENT,
      undefined,
      oidc.None(),
      await requestOptions(provider, env),
    );
  } catch (err) {
    throw mapOidcError(err, `discovery at ${issuer}`, issuer);
  }
  const md = config.serverMetadata();
  checkEndpoints(issuer, md);
  return {
    issuer: md.issuer,
    ...(md.registration_endpoint ? { registrationEndpoint: md.registration_endpoint } : {}),
    ...(Array.isArray(md.scopes_supported) ? { scopesSupported: md.scopes_supported } : {}),
    ...(Array.isArray(md.token_endpoint_auth_methods_supported)
      ? { authMethods: md.token_endpoint_auth_methods_supported }
      : {}),
  };
}

/** The loopback redirect URIs to register: the callback port (any port when it is 0, RFC 8252 §7.3). */
export function loopbackRedirectUris(provider: OidcProvider, callbackPort: number): string[] {
  const host = provider.oidc.redirect_host ?? '127.0.0.1';
  return [callbackPort === 0 ? `http://${host}/callback` : `http://${host}:${callbackPort}/callback`];
}

/**
 * The token-endpoint authentication to register: `none` (a public client) unless the server lists
 * methods without it — then a client secret (basic, else post), which the server hands out.
 */
export function registrationAuthMethod(supported: string[] | undefined): string | undefined {
  if (!supported || supported.includes('none')) return 'none';
  return ['client_secret_basic', 'client_secret_post'].find((m) => supported.includes(m));
}

/** Register gatepass as a native client (RFC 7591) and return what the server assigned. */
export async function registerClient(
  provider: OidcProvider,
  env: NodeJS.ProcessEnv,
  redirectUris: string[],
  authMethod = 'none',
): Promise<RegisteredClient> {
  const issuer = provider.oidc.issuer!;
  let config: oidc.Configuration;
  try {
    config = await oidc.dynamicClientRegistration(
      new URL(issuer),
      {
        client_name: 'gatepass',
        application_type: 'native',
        redirect_uris: redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: authMethod,
      },
      oidc.None(),
      await requestOptions(provider, env),
    );
  } catch (err) {
    throw mapOidcError(err, 'client registration', issuer);
  }
  checkEndpoints(issuer, config.serverMetadata());
  const md = config.clientMetadata();
  const secret = typeof md.client_secret === 'string' && md.client_secret ? md.client_secret : undefined;
  registerSecret(secret);
  const problem = checkFieldValue(findField('oidc.client_id')!, md.client_id);
  if (problem) throw refuse(issuer, `registered an unusable client_id (${problem})`);
  return { clientId: md.client_id, ...(secret ? { clientSecret: secret } : {}) };
}
