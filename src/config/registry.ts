/**
 * Reading a managed source (managed.ts): a file, or the Windows policy registry key that
 * `gatepass mdm print --format reg` writes (`HKEY_LOCAL_MACHINE\SOFTWARE\Policies\gatepass`,
 * under which only administrators can write), read with the system's own `reg.exe query KEY /s`
 * (no native addon; parsed by reg-query.ts). Light on purpose: the token fast path checks its
 * snapshot against the managed source with it — node:child_process (with net, dgram and streams:
 * ≈ 4 ms of CPU per start) is loaded only when a registry key is actually queried.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { builtin } from '../util/builtin.js';
import { isRegistryKey } from './paths.js';

/** `HKLM\…` spelled the way `reg query` prints key names (`HKEY_LOCAL_MACHINE\…`). */
export function canonicalKey(key: string): string {
  return key.replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\');
}

/** The bytes of one managed source (a file, or a registry key's `reg query` output); undefined when absent. */
export function readManagedSource(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): { bytes: Buffer; mtimeMs: number; registry: boolean } | undefined {
  if (isRegistryKey(name)) {
    const bytes = queryRegistry(name, env);
    return bytes && { bytes, mtimeMs: 0, registry: true };
  }
  try {
    const { mtimeMs } = statSync(name);
    return { bytes: readFileSync(name), mtimeMs, registry: false };
  } catch {
    return undefined;
  }
}

/**
 * `reg query KEY /s` run synchronously (the token fast path calls it too): its raw output, or
 * undefined when the key does not exist or `reg` cannot run (no policy: the next source is tried).
 * On Windows the system's own reg.exe by absolute path (a bare name would be looked up in the
 * current directory first); elsewhere (tests) `reg` on PATH.
 */
export function queryRegistry(key: string, env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const exe =
    process.platform === 'win32'
      ? path.win32.join(env['SystemRoot'] ?? 'C:\\Windows', 'System32', 'reg.exe')
      : 'reg';
  try {
    const { execFileSync } = builtin('node:child_process');
    return execFileSync(exe, ['query', key, '/s'], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
      windowsHide: true,
      timeout: 15_000,
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch {
    return undefined; // exit 1: "ERROR: The system was unable to find the specified registry key"
  }
}
