/**
 * The interactive OIDC flows: authorization code + PKCE (S256) with state, nonce and issuer checks
 * through a loopback callback, and the device authorization grant (RFC 8628) for machines without a
 * browser. Both return the token response; saving it is the caller's job.
 */
import * as oidc from 'openid-client';
import {
  DEFAULT_LOGIN_TIMEOUT_MS,
  effectiveCallbackPort,
  effectiveScopes,
  type OidcProvider,
} from '../../config/schema.js';
import { AuthError } from '../../errors.js';
import { stripControl } from '../../redact.js';
import { createBrowserOpener } from '../browser.js';
import type { AuthContext } from '../types.js';
import { CALLBACK_PATH, type CallbackHit, startCallbackServer } from './callback.js';
import { discoverFor, mapOidcError, registerTokens, type TokenResponse } from './client.js';
import { parsePastedRedirect, pastePrompt, readPastedLine } from './paste.js';
import { resourceParams } from './resource-indicator.js';

export interface FlowOptions {
  timeoutMs?: number;
  /** Print the URL and read the redirect address pasted on stdin (a browser on another machine). */
  paste?: boolean;
  signal?: AbortSignal;
}

function audienceParams(provider: OidcProvider): Record<string, string> {
  return provider.oidc.audience ? { audience: provider.oidc.audience } : {};
}

/** The scopes for this IdP: oidc.scopes, or the defaults with offline_access only if it is offered. */
function scopeParam(provider: OidcProvider, config: oidc.Configuration): string {
  return effectiveScopes(provider, config.serverMetadata().scopes_supported).join(' ');
}

/** A spinner on stderr while waiting, only when stderr is a terminal. */
function startSpinner(stderr: AuthContext['stderr'], text: string): () => void {
  if (!stderr.isTTY) return () => {};
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const timer = setInterval(() => {
    i = (i + 1) % frames.length;
    stderr.write(`\r${frames[i]} ${text}`);
  }, 100);
  return () => {
    clearInterval(timer);
    stderr.write('\r\x1b[K');
  };
}

function timeoutPromise(ms: number, signal?: AbortSignal): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AuthError('E_AUTH_TIMEOUT', `login timed out after ${Math.round(ms / 1000)} s`, {
            hint: 'run `gatepass login` again and finish the login in the browser',
          }),
        ),
      ms,
    );
    onAbort = () => reject(new AuthError('E_AUTH_FAILED', 'login cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Show the login URL: open the browser, or print the URL. True when a pasted redirect should be
 * read too: `--paste`, or a browser that could not be opened while a human is at the terminal.
 */
async function showLoginUrl(
  ctx: AuthContext,
  issuer: string,
  href: string,
  paste: boolean,
): Promise<boolean> {
  if (paste) {
    if (!ctx.stdin) throw new AuthError('E_AUTH_FAILED', 'a pasted login needs standard input');
    ctx.stderr.write(`To log in to ${issuer}, open this URL in a browser (on any machine):\n\n  ${href}\n\n`);
    return true;
  }
  if (ctx.skipBrowser) {
    ctx.stderr.write(`To log in to ${issuer}, open this URL in a browser on this machine:\n\n  ${href}\n\n`);
    return false;
  }
  ctx.stderr.write(`Opening your browser to log in to ${issuer}…\n`);
  const open = ctx.openBrowser ?? createBrowserOpener(ctx.env);
  try {
    await open(href);
    return false;
  } catch (err) {
    ctx.logger.debug(`could not open a browser: ${(err as Error).message}`);
    const why = ctx.env['GATEPASS_BROWSER']?.trim() ? ` (${(err as Error).message})` : '';
    ctx.stderr.write(`Could not open a browser${why}. Open this URL to log in:\n\n  ${href}\n\n`);
    return Boolean(ctx.stdin?.isTTY);
  }
}

export async function browserLogin(
  ctx: AuthContext,
  provider: OidcProvider,
  options: FlowOptions = {},
): Promise<TokenResponse> {
  const issuer = provider.oidc.issuer!;
  const config = await discoverFor(ctx, provider);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const redirectHost = provider.oidc.redirect_host ?? '127.0.0.1';
  const port = effectiveCallbackPort(provider);
  // Listen before showing the URL: a busy port fails fast with a clear error. `--paste` with a
  // fixed port needs no listener: the redirect only has to name the registered loopback URI.
  const callback =
    options.paste && port !== 0 ? undefined : await startCallbackServer(port, state, { redirectHost });
  const redirectUri = callback?.redirectUri ?? `http://${redirectHost}:${port}${CALLBACK_PATH}`;
  const timeout = timeoutPromise(options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS, options.signal);
  let stopSpinner = () => {};
  let pasted: ReturnType<typeof readPastedLine> | undefined;
  try {
    const url = oidc.buildAuthorizationUrl(config, {
      // oidc.auth_params first: validation keeps it from naming the parameters set here.
      ...provider.oidc.auth_params,
      redirect_uri: redirectUri,
      scope: scopeParam(provider, config),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
      ...audienceParams(provider),
      ...resourceParams(provider),
    });
    if (await showLoginUrl(ctx, issuer, url.href, Boolean(options.paste))) {
      ctx.stderr.write(pastePrompt(redirectUri));
      pasted = readPastedLine(ctx.stdin!);
    } else {
      stopSpinner = startSpinner(ctx.stderr, 'Waiting for the login to finish in your browser…');
    }
    // Whichever comes first: the browser reaching the callback, or the pasted address.
    const fromPaste = pasted?.line.then(
      (line): CallbackHit => ({ url: parsePastedRedirect(line, redirectUri, state), respond() {} }),
    );
    const hit = await Promise.race([
      ...(callback ? [callback.result] : []),
      ...(fromPaste ? [fromPaste] : []),
      timeout.promise,
    ]);
    stopSpinner();
    pasted?.cancel();
    try {
      const tokens = await oidc.authorizationCodeGrant(
        config,
        hit.url,
        {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        },
        resourceParams(provider),
      );
      registerTokens(tokens);
      hit.respond(true);
      return tokens;
    } catch (err) {
      const mapped = mapOidcError(err, 'code exchange', issuer);
      hit.respond(false, mapped.message);
      throw mapped;
    }
  } finally {
    stopSpinner();
    pasted?.cancel();
    timeout.cancel();
    await callback?.close();
  }
}

export async function deviceLogin(
  ctx: AuthContext,
  provider: OidcProvider,
  options: FlowOptions = {},
): Promise<TokenResponse> {
  const issuer = provider.oidc.issuer!;
  const config = await discoverFor(ctx, provider);
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new AuthError('E_AUTH_FAILED', `the identity provider at ${issuer} does not support device login`, {
      hint: 'use `gatepass login` (browser), or `gatepass login --skip-browser` and open the URL yourself',
    });
  }
  let response: oidc.DeviceAuthorizationResponse;
  try {
    response = await oidc.initiateDeviceAuthorization(config, {
      scope: scopeParam(provider, config),
      ...audienceParams(provider),
      ...resourceParams(provider),
    });
  } catch (err) {
    throw mapOidcError(err, 'device authorization', issuer);
  }
  // Both come from the IdP: no escape sequence of theirs reaches the terminal.
  const where = stripControl(response.verification_uri_complete ?? response.verification_uri, {
    singleLine: true,
  });
  const code = stripControl(response.user_code, { singleLine: true });
  ctx.stderr.write(`To log in to ${issuer}, visit:\n\n  ${where}\n\nand confirm the code: ${code}\n\n`);
  const controller = new AbortController();
  const limit = Math.min(options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS, response.expires_in * 1000);
  const timer = setTimeout(() => controller.abort(), limit);
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const stopSpinner = startSpinner(ctx.stderr, 'Waiting for you to confirm the code…');
  try {
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, response, resourceParams(provider), {
      signal: controller.signal,
    });
    registerTokens(tokens);
    return tokens;
  } catch (err) {
    if (controller.signal.aborted) {
      throw new AuthError('E_AUTH_TIMEOUT', `device login timed out after ${Math.round(limit / 1000)} s`);
    }
    throw mapOidcError(err, 'device login', issuer);
  } finally {
    stopSpinner();
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
