/**
 * Whether this gatepass is the single executable (a Node SEA built by scripts/build-sea.mjs), and
 * the native addons that binary loads from beside itself. The build defines `__GATEPASS_SEA__`;
 * dist/ and the sources leave it undefined.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

declare const __GATEPASS_SEA__: boolean | undefined;

export const IS_SEA: boolean = typeof __GATEPASS_SEA__ === 'boolean' && __GATEPASS_SEA__;

/** The OS keychain addon (@napi-rs/keyring's native binding), shipped beside the binary. */
export const SEA_KEYRING_ADDON = 'gatepass-keyring.node';

/**
 * Refuse code another user could have swapped: a file or directory writable by everyone, by a group
 * other than root's (or, on macOS, admin: its members are administrators anyway), or owned by another
 * user than root or us.
 */
function checkTrusted(file: string): void {
  if (process.platform === 'win32') return;
  const uid = process.getuid?.();
  const trustedGroups = process.platform === 'darwin' ? [0, 80] : [0];
  for (const p of [file, path.dirname(file)]) {
    const st = statSync(p);
    const groupWritable = (st.mode & 0o020) !== 0 && !trustedGroups.includes(st.gid);
    if (st.mode & 0o002 || groupWritable || (st.uid !== 0 && st.uid !== uid)) {
      throw new Error(`${p} is writable by other users or owned by one: refusing to load ${file}`);
    }
  }
}

/**
 * Load a native addon shipped beside the binary, with process.dlopen: nothing is extracted (that
 * would be a write, even in `setup --dry-run`). `process.execPath` is the binary's real path
 * (resolved by the OS), so a symlink such as /usr/local/bin/gatepass still finds it.
 */
export function loadSeaAddon<T>(name: string): T {
  const file = path.join(path.dirname(process.execPath), name);
  checkTrusted(file);
  const addon = { exports: {} as T };
  process.dlopen(addon, file);
  return addon.exports;
}
