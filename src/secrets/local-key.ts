/**
 * The per-install local proxy key: a random secret generated at setup and stored with the other
 * secrets. Proxy-mode tools present it as their API key; the proxy refuses requests without it, so
 * other local users and web pages cannot borrow the gateway token through the loopback proxy.
 */
import { randomBytes } from 'node:crypto';
import { registerSecret } from '../redact.js';
import { LOCAL_PROXY_KEY_NAME, type SecretStore } from './types.js';

export const LOCAL_KEY_PREFIX = 'gp_local_';

export function generateLocalProxyKey(): string {
  return `${LOCAL_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export async function getLocalProxyKey(store: SecretStore): Promise<string | undefined> {
  const key = await store.get(LOCAL_PROXY_KEY_NAME);
  registerSecret(key);
  return key;
}

export async function getOrCreateLocalProxyKey(store: SecretStore): Promise<string> {
  const existing = await getLocalProxyKey(store);
  if (existing) return existing;
  const key = generateLocalProxyKey();
  await store.set(LOCAL_PROXY_KEY_NAME, key);
  registerSecret(key);
  return key;
}

/**
 * Constant-time comparison of a presented key with the expected one: every character of the expected
 * key is compared, whatever the presented one holds, and the differences are OR-ed, never branched on
 * (the proxy runs this on every request; a Buffer and a native call per request cost more than the
 * comparison). Keys are ASCII (`gp_local_` + base64url), so comparing UTF-16 code units compares bytes.
 */
export function localKeyMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const n = expected.length;
  let diff = presented.length ^ n;
  for (let i = 0; i < n; i++) diff |= presented.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}
