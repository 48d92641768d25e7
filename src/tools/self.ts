/**
 * How tools should run gatepass, with absolute paths and never relying on PATH, which GUI apps and
 * tools' subprocesses often do not share with the user's shell: `node <real path of dist/cli.js>`
 * when we run as a script — also when started through a symlinked `gatepass` bin (npm's global
 * install), whose `#!/usr/bin/env node` line would need node on PATH — else the `gatepass`
 * executable itself (a single-file build, or a wrapper such as npm's gatepass.cmd on Windows).
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { IS_SEA } from '../util/sea.js';
import type { SelfCommand } from './types.js';

export function resolveSelf(
  argv1: string | undefined = process.argv[1],
  execPath: string = process.execPath,
): SelfCommand {
  // The single executable: argv[1] is only the name as typed (`gatepass`, `./gatepass`).
  if (IS_SEA) return { command: execPath, args: [] };
  if (!argv1) return { command: 'gatepass', args: [] };
  const abs = path.resolve(argv1);
  let real = abs;
  try {
    real = realpathSync(abs);
  } catch {
    // keep the absolute path
  }
  if (/\.[cm]?js$/i.test(real)) return { command: execPath, args: [real] };
  return { command: abs, args: [] };
}

/** Quote one word for the shell the tool will run the command line with. */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  if (platform === 'win32') return `"${word.replace(/"/g, '""')}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A shell command line running `gatepass <args…>`. */
export function selfCommandLine(
  self: SelfCommand,
  args: string[],
  platform: NodeJS.Platform = process.platform,
): string {
  return [self.command, ...self.args, ...args].map((w) => shellQuote(w, platform)).join(' ');
}

/**
 * The arguments tools pass to gatepass to get a token: `token --min-valid <2 × helper TTL>`, so a
 * tool that caches the helper's answer for one TTL is never handed a token expiring within the next
 * TTL (the TTL invariant: re-run every 5 min, refresh when under 10 min remain).
 */
export function tokenHelperArgs(helperTtlMs: number): string[] {
  return ['token', '--min-valid', String(Math.round((2 * helperTtlMs) / 1000))];
}

/**
 * Set by `gatepass status` when it runs a tool's token helper (setup/helper-check.ts): `gatepass
 * token` then only resolves its config file and provider and prints HELPER_CHECK_MARKER instead of
 * a token — no secret, no login.
 */
export const HELPER_CHECK_ENV = 'GATEPASS_HELPER_CHECK';
export const HELPER_CHECK_MARKER = 'gatepass-helper-ok';
