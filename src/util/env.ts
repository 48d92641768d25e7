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

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/**
 * A yes/no environment variable: undefined when unset or blank, else true (1/true/yes/on) or false
 * (0/false/no/off); anything else is a usage error naming the variable.
 */
export function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const v = raw.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new UsageError(`${name} must be 1 or 0 (or true/false, yes/no), got "${printable(raw)}"`, {
    hint: `unset ${name} to use its default`,
  });
}

/** One of `choices` (case-insensitive), undefined when unset or blank; else a usage error. */
export function envChoice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const v = raw.toLowerCase() as T;
  if (choices.includes(v)) return v;
  throw new UsageError(`${name} must be one of ${choices.join(', ')}, got "${printable(raw)}"`, {
    hint: `unset ${name} to use its default`,
  });
}

/** Environment text as shown in an error: no control characters, bounded. */
function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
