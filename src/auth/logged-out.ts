/**
 * The "logged out by the user" state, distinct from "never logged in" (a lazy setup's login
 * pending): `gatepass logout` — and a teardown that deletes tokens — records `logged_out: true` on
 * the provider; `gatepass login` and `setup` clear it. While it is set, no token source starts a
 * login or runs a token command on its own: a tool's `gatepass token` and the proxy get
 * "you are logged out" instead of a browser tab.
 */
import { managedSources } from '../config/paths.js';
import type { Provider } from '../config/schema.js';
import { readFreshSnapshot } from '../config/snapshot.js';
import { AuthError } from '../errors.js';
import type { AuthContext } from './types.js';

export function loggedOutError(name: string, isDefault: boolean): AuthError {
  const cmd = isDefault ? 'gatepass login' : `gatepass login --provider ${name}`;
  return new AuthError('E_AUTH_REQUIRED', `you are logged out: run \`${cmd}\``, {
    hint: `provider "${name}" was logged out (gatepass logout or teardown); tools cannot sign in again on their own`,
  });
}

/**
 * Is the provider logged out? The config file is read afresh when it exists, so a long-running
 * process (the proxy) sees a logout (or login) made by another one; else the in-memory flag. Its
 * JSON snapshot answers while it matches the file (snapshot.ts), so the proxy does not load the
 * YAML parser for this on every token command run; a stale one: the file is parsed (and the
 * snapshot rewritten).
 */
export async function isLoggedOut(ctx: AuthContext, name: string, provider: Provider): Promise<boolean> {
  try {
    const snap = readFreshSnapshot(ctx.configFile, managedSources(ctx.env), ctx.env);
    if (snap) return snap.config.providers[name]?.logged_out === true;
    const { loadConfig } = await import('../config/store.js');
    const { config, exists } = await loadConfig(ctx.configFile);
    if (exists) return config.providers[name]?.logged_out === true;
  } catch {
    // an unreadable config: the in-memory state decides
  }
  return provider.logged_out === true;
}

/** Throw loggedOutError() when the provider is logged out. */
export async function refuseWhenLoggedOut(ctx: AuthContext, name: string, provider: Provider): Promise<void> {
  if (await isLoggedOut(ctx, name, provider)) {
    throw loggedOutError(name, name === ctx.config.default_provider);
  }
}

/** Record (`true`) or clear (`false`) the logged-out state in the config. Best effort. */
export async function setLoggedOut(
  ctx: AuthContext,
  name: string,
  provider: Provider,
  value: boolean,
): Promise<void> {
  if (value) provider.logged_out = true;
  else delete provider.logged_out;
  try {
    const { updateConfig } = await import('../config/store.js');
    await updateConfig(ctx.configFile, (cfg) => {
      const p = cfg.providers[name];
      if (!p) return;
      if (value) p.logged_out = true;
      else delete p.logged_out;
    });
  } catch (err) {
    ctx.logger.debug(`could not record the login state in ${ctx.configFile}: ${(err as Error).message}`);
  }
}
