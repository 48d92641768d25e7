/**
 * Zero-config setup: `gatepass setup --gateway-url https://llm.corp.example` alone. Before setup
 * proper runs, the OIDC settings the user did not give are found from the gateway: its protected
 * resource metadata (RFC 9728) names the authorization server (→ `oidc.issuer`) and the resource
 * indicator (RFC 8707, → `oidc.resource`, plus any scopes it needs); the server's metadata says
 * whether it offers Dynamic Client Registration (RFC 7591), and when no client id is configured
 * gatepass registers itself as a public loopback client (→ `oidc.client_id`; a client secret, if
 * the server insists on one, goes to the secret store and only its key to `oidc.client_secret`).
 *
 * The result is a list of extra inline settings that setup validates, shows and saves exactly like
 * typed flags (after the sign-in and the tool files succeed), so a re-run finds them configured and
 * neither discovers nor registers again. `--dry-run` discovers (it only reads) but never registers
 * or stores anything. Without metadata, or without registration, setup stops with an error naming
 * exactly the value the admin must provide.
 */
import { clientSecretKey } from '../auth/oidc/client-secret.js';
import {
  loopbackRedirectUris,
  readAuthorizationServer,
  registerClient,
  registrationAuthMethod,
} from '../auth/oidc/registration.js';
import {
  discoverProtectedResource,
  type FetchLike,
  type ProtectedResource,
} from '../auth/oidc/resource-metadata.js';
import { applyAssignments, parseAssignments } from '../config/edit.js';
import {
  DEFAULT_SCOPES,
  DEFAULT_SCOPES_BASE,
  effectiveCallbackPort,
  type OidcProvider,
} from '../config/schema.js';
import { loadConfig } from '../config/store.js';
import { ConfigError } from '../errors.js';
import { stripControl } from '../redact.js';
import { openStore, type RunEnv } from './common.js';
import { gatewayFetch } from './models.js';

/** The client id a dry run shows in place of the one registration would assign. */
export const DRY_RUN_CLIENT_ID = 'to-be-registered';

export interface ZeroConfigOptions {
  provider?: string;
  /** The typed inline settings ([key, raw value]). */
  assignments: Array<[string, string]>;
  dryRun: boolean;
  /** Injected in tests: the fetch for the gateway (default: its TLS options and egress proxy). */
  fetch?: FetchLike;
}

const show = (s: string) => stripControl(s, { singleLine: true });

/**
 * The settings zero-config found, as [key, raw value] pairs to add to setup's inline settings; empty
 * when nothing is missing (issuer and client id configured), for command providers and when there is
 * no gateway URL (setup then reports what is missing, as before).
 */
export async function zeroConfigAssignments(
  run: RunEnv,
  options: ZeroConfigOptions,
): Promise<Array<[string, string]>> {
  const { config } = await loadConfig(run.paths.configFile);
  const merged = structuredClone(config);
  const name = options.provider ?? merged.default_provider;
  applyAssignments(merged, name, parseAssignments(options.assignments));
  const provider = merged.providers[name];
  if (provider?.type !== 'oidc' || !provider.gateway_url) return [];
  if (provider.oidc.issuer && provider.oidc.client_id) return [];
  const out: Array<[string, string]> = [];
  /** Scopes the gateway's metadata asks for (only when the user chose no scopes). */
  let gatewayScopes: string[] = [];
  const gateway = provider.gateway_url;
  if (!provider.oidc.issuer) {
    const prm = await findResourceMetadata(run, provider, options.fetch);
    const issuer = prm.authorizationServers[0]!;
    provider.oidc.issuer = issuer;
    out.push(['oidc.issuer', issuer]);
    if (!provider.oidc.resource) {
      provider.oidc.resource = prm.resource;
      out.push(['oidc.resource', prm.resource]);
    }
    const others = prm.authorizationServers.slice(1).map(show);
    run.logger.info(
      `Zero-config: ${show(prm.metadataUrl)}${prm.via === 'www-authenticate' ? " (named by the gateway's 401)" : ''} names the authorization server ${show(issuer)}${others.length ? ` (also: ${others.join(', ')})` : ''} and the resource ${show(prm.resource)}${prm.name ? ` ("${prm.name}")` : ''}.`,
    );
    if (!provider.oidc.scopes) gatewayScopes = prm.scopes;
  }
  if (provider.oidc.client_id) return withScopes(out, gatewayScopes, undefined);
  const as = await readAuthorizationServer(provider, run.env);
  const redirectUris = loopbackRedirectUris(provider, effectiveCallbackPort(provider));
  if (!as.registrationEndpoint) {
    throw new ConfigError(
      'E_CONFIG_MISSING',
      `the authorization server ${show(as.issuer)} does not offer dynamic client registration (RFC 7591), and no client id is configured`,
      {
        field: 'oidc.client_id',
        hint: `ask your identity provider admin for the client id of a public client (PKCE, no secret) with the redirect URI ${redirectUris[0]}, then run \`gatepass setup --gateway-url ${gateway} --client-id <client id>\``,
      },
    );
  }
  const authMethod = registrationAuthMethod(as.authMethods);
  if (!authMethod) {
    throw new ConfigError(
      'E_CONFIG_MISSING',
      `the authorization server ${show(as.issuer)} offers no client authentication gatepass can register with (none, client_secret_basic or client_secret_post), and no client id is configured`,
      {
        field: 'oidc.client_id',
        hint: `ask your identity provider admin for the client id of a public client (PKCE) with the redirect URI ${redirectUris[0]}, then run \`gatepass setup --gateway-url ${gateway} --client-id <client id>\``,
      },
    );
  }
  if (options.dryRun) {
    run.logger.info(
      `Zero-config: would register gatepass as a public client at ${show(as.registrationEndpoint)} (redirect URI ${redirectUris.join(', ')}); a dry run registers nothing.`,
    );
    out.push(['oidc.client_id', DRY_RUN_CLIENT_ID]);
    return withScopes(out, gatewayScopes, as.scopesSupported);
  }
  const registered = await registerClient(provider, run.env, redirectUris, authMethod);
  out.push(['oidc.client_id', registered.clientId]);
  if (registered.clientSecret) {
    const key = clientSecretKey(as.issuer, registered.clientId);
    const store = await openStore(run);
    await store.set(key, registered.clientSecret);
    out.push(['oidc.client_secret', key]);
  }
  run.logger.info(
    `Zero-config: registered gatepass at ${show(as.issuer)} as client ${show(registered.clientId)}${registered.clientSecret ? ' (its secret is in the secret store)' : ''}.`,
  );
  return withScopes(out, gatewayScopes, as.scopesSupported);
}

/**
 * Scopes the gateway's metadata asks for on top of the defaults: saved as `oidc.scopes` (offline_access
 * only when the server offers it, or says nothing).
 */
function withScopes(
  out: Array<[string, string]>,
  gatewayScopes: string[],
  supported: string[] | undefined,
): Array<[string, string]> {
  const base = !supported || supported.includes('offline_access') ? DEFAULT_SCOPES : DEFAULT_SCOPES_BASE;
  const extra = gatewayScopes.filter((s) => !base.includes(s) && s !== 'offline_access');
  if (!extra.length) return out;
  return [...out, ['oidc.scopes', [...base, ...extra].join(',')]];
}

async function findResourceMetadata(
  run: RunEnv,
  provider: OidcProvider,
  fetchFn: FetchLike | undefined,
): Promise<ProtectedResource> {
  const gateway = provider.gateway_url!;
  const { found, tried } = await discoverProtectedResource(gateway, {
    fetch: fetchFn ?? gatewayFetch(provider, run.env),
  });
  if (found) return found;
  throw new ConfigError(
    'E_CONFIG_MISSING',
    `the gateway ${gateway} publishes no OAuth protected resource metadata (RFC 9728; tried ${tried.join(', ')} and a request without a token), so the identity provider is not known`,
    {
      field: 'oidc.issuer',
      hint: `give it yourself: \`gatepass setup --gateway-url ${gateway} --issuer <issuer URL> --client-id <client id>\` (ask your gateway admin), or have the admin publish ${tried[0]} (README: Zero-config)`,
    },
  );
}
