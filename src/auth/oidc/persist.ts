/**
 * Saving what a grant returned: the (possibly rotated) refresh token, the access token for
 * cross-process reuse, and a token reference (secret key + expiry, never a token) in the config.
 */

import { managedSources } from '../../config/paths.js';
import type { OidcProvider, TokenIdentity } from '../../config/schema.js';
import { recordTokenRefExpiry } from '../../config/token-ref-expiry.js';
import { AuthError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import type { AuthContext } from '../types.js';
import { accessTokenKey, jwtExpiry, serializeCachedToken } from './keys.js';

export interface GrantTokens {
  access_token: string;
  refresh_token?: string | undefined;
  expires_in?: number | undefined;
  /** The ID token (validated by openid-client); only its identity claims are kept, never the token. */
  id_token?: string | undefined;
}

/**
 * Who signed in, from the ID token's claims (`sub`, `email`, `preferred_username`, `name`): for
 * `gatepass status`. Control characters are stripped (the values reach a terminal and a file).
 */
export function identityOf(idToken: string | undefined): TokenIdentity | undefined {
  if (!idToken) return undefined;
  const parts = idToken.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const out: TokenIdentity = {};
    for (const k of ['sub', 'email', 'preferred_username', 'name'] as const) {
      const v = claims[k];
      if (typeof v === 'string' && v) out[k] = v.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, 200);
    }
    return Object.keys(out).length ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token the gateway gets: the access token, or with `oidc.token: id_token` the ID token (Google
 * IAP, gateways validating ID tokens), whose expiry is its own `exp` (`expires_in` is the access
 * token's).
 */
export function gatewayToken(provider: OidcProvider, tokens: GrantTokens): GrantTokens {
  if (provider.oidc.token !== 'id_token') return tokens;
  if (!tokens.id_token) {
    throw new AuthError(
      'E_AUTH_FAILED',
      'the identity provider returned no ID token, and oidc.token is id_token (the gateway gets the ID token)',
      {
        hint: 'make sure the openid scope is granted (and that the IdP returns an ID token on refresh), or `gatepass config unset oidc.token`',
      },
    );
  }
  const { expires_in: _ignored, ...rest } = tokens;
  return { ...rest, access_token: tokens.id_token };
}

export interface SavedTokens {
  token: string;
  expiresAt?: number;
  /** When it was obtained (epoch ms). */
  issuedAt: number;
  /** A refresh token was stored (new or rotated). */
  refreshStored: boolean;
}

/** Expiry in epoch ms: `expires_in` when given, else the JWT's `exp`, else unknown. */
export function expiryOf(tokens: GrantTokens, now: number): number | undefined {
  if (typeof tokens.expires_in === 'number' && Number.isFinite(tokens.expires_in)) {
    return now + tokens.expires_in * 1000;
  }
  return jwtExpiry(tokens.access_token);
}

/**
 * Store the refresh token first, then the access token: a concurrent reader (holding no lock) that
 * sees the new access token can rely on the refresh token matching it.
 */
export async function saveTokens(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  secretKey: string,
  tokens: GrantTokens,
): Promise<SavedTokens> {
  registerSecret(tokens.access_token);
  registerSecret(tokens.refresh_token);
  registerSecret(tokens.id_token);
  // The (possibly rotated) refresh token is saved before anything can fail.
  if (tokens.refresh_token) await ctx.secrets.set(secretKey, tokens.refresh_token);
  tokens = gatewayToken(provider, tokens);
  const issuedAt = ctx.now();
  const expiresAt = expiryOf(tokens, issuedAt);
  try {
    await ctx.secrets.set(
      accessTokenKey(secretKey),
      serializeCachedToken(tokens.access_token, expiresAt, issuedAt),
    );
  } catch (err) {
    // Caching is an optimisation (and some keychains cap entry sizes below a large JWT's length):
    // the token in hand is still good, and the refresh token is what must persist.
    ctx.logger.debug(`could not cache the access token: ${(err as Error).message}`);
  }
  // A refresh usually brings no ID token: the identity of the login stays.
  const identity = identityOf(tokens.id_token) ?? provider.token_ref?.identity;
  await persistTokenRef(ctx, name, provider, secretKey, expiresAt, identity);
  return {
    token: tokens.access_token,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    issuedAt,
    refreshStored: Boolean(tokens.refresh_token),
  };
}

/** Write token_ref into the config (after login/rotation only). A failure here never fails the token. */
export async function persistTokenRef(
  ctx: AuthContext,
  name: string,
  provider: OidcProvider,
  secretKey: string,
  expiresAtMs: number | undefined,
  identity: TokenIdentity | undefined = provider.token_ref?.identity,
): Promise<void> {
  const ref = {
    secret_key: secretKey,
    ...(expiresAtMs === undefined ? {} : { expires_at: Math.floor(expiresAtMs / 1000) }),
    ...(identity ? { identity: { ...identity } } : {}),
  };
  provider.token_ref = ref;
  // Tokens again: the user is no longer logged out.
  delete provider.logged_out;
  try {
    // A refresh changes only the expiry: written in place when that is unambiguous (no YAML parser).
    if (
      ref.expires_at !== undefined &&
      (await recordTokenRefExpiry(
        ctx.configFile,
        managedSources(ctx.env),
        { name, secretKey, expiresAt: ref.expires_at, identity },
        ctx.env,
      ))
    ) {
      return;
    }
    // Loaded here: the YAML library is needed only when more than the expiry changes.
    const { updateConfig } = await import('../../config/store.js');
    await updateConfig(ctx.configFile, (cfg) => {
      const p = cfg.providers[name];
      if (p?.type === 'oidc') {
        p.token_ref = { ...ref };
        delete p.logged_out;
      }
    });
  } catch (err) {
    ctx.logger.debug(`could not record token_ref in ${ctx.configFile}: ${(err as Error).message}`);
  }
}

/**
 * Forget the token reference and record that the user logged out (logout): a tool's `gatepass
 * token` then refuses instead of starting a browser login, until `gatepass login`.
 */
export async function clearTokenRef(ctx: AuthContext, name: string, provider: OidcProvider): Promise<void> {
  delete provider.token_ref;
  provider.logged_out = true;
  try {
    const { updateConfig } = await import('../../config/store.js');
    await updateConfig(ctx.configFile, (cfg) => {
      const p = cfg.providers[name];
      if (p?.type === 'oidc') {
        delete p.token_ref;
        p.logged_out = true;
      }
    });
  } catch (err) {
    ctx.logger.debug(`could not clear token_ref in ${ctx.configFile}: ${(err as Error).message}`);
  }
}
