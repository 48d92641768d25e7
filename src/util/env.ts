import { UsageError } from '../errors.js';

/**
 * A number of seconds from an environment variable: `fallback` when unset or blank, a usage error
 * naming the variable when it is not a number within [min, max] (a typo must not silently become
 * the default).
 */
export function envSeconds(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  { min = 1, max = 86_400 }: { min?: number; max?: number } = {},
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < min || s > max) {
    throw new UsageError(`${name} must be a number of seconds from ${min} to ${max}, got "${raw}"`, {
      hint: `unset ${name} to use the default of ${fallback} s`,
    });
  }
  return s;
}
