/**
 * `gatepass status` checks that each tool's token helper still starts: it runs the helper recorded
 * at setup exactly as the tool would (a shell line, or an executable with arguments), with
 * GATEPASS_HELPER_CHECK=1 so `gatepass token` only resolves its config file and provider and prints
 * a marker — no token, no login, no browser — and a short timeout. A launcher whose node or script
 * is gone, a helper pinned to a config or provider that no longer exists, or one serving another
 * provider than the tool was wired for, is "broken: <reason>".
 */
import { spawn } from 'node:child_process';
import { redact } from '../redact.js';
import { HELPER_CHECK_ENV, HELPER_CHECK_MARKER } from '../tools/self.js';
import type { HelperSpec } from '../tools/types.js';

const DEFAULT_TIMEOUT_MS = 15_000;

export function isHelperSpec(v: unknown): v is HelperSpec {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  if (typeof o['shell'] === 'string') return true;
  return (
    typeof o['command'] === 'string' &&
    Array.isArray(o['args']) &&
    o['args'].every((a) => typeof a === 'string')
  );
}

/** One line of a child's output, safe for a terminal and a JSON report. */
function oneLine(text: string): string {
  const line =
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l && !/^hint:/.test(l)) ?? '';
  return redact(line.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '))
    .replace(/^gatepass: (error: )?/, '')
    .slice(0, 300);
}

/** Run the helper; undefined when it starts and serves `provider`, else why it is broken. */
export async function checkHelper(
  helper: HelperSpec,
  provider: string,
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number; platform?: NodeJS.Platform } = {},
): Promise<string | undefined> {
  const platform = options.platform ?? process.platform;
  const childEnv = { ...env, [HELPER_CHECK_ENV]: '1', GATEPASS_INTERACTIVE: '0' };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = 'shell' in helper ? helper.shell : [helper.command, ...helper.args].join(' ');
  return new Promise((resolve) => {
    const child =
      'shell' in helper
        ? spawn(helper.shell, { shell: true, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(helper.command, helper.args, {
            env: childEnv,
            stdio: ['ignore', 'pipe', 'pipe'],
            // A .cmd launcher on Windows needs cmd.exe.
            shell: platform === 'win32' && /\.(cmd|bat)$/i.test(helper.command),
          });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 4096) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`cannot run ${oneLine(what)}: ${oneLine(err.message)}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const m = new RegExp(`^${HELPER_CHECK_MARKER} provider=(\\S+)`, 'm').exec(stdout);
      if (code === 0 && m) {
        resolve(m[1] === provider ? undefined : `it serves provider "${m[1]}", not "${provider}"`);
        return;
      }
      if (signal) {
        resolve(`it did not answer within ${Math.round(timeoutMs / 1000)} s`);
        return;
      }
      const said = oneLine(stderr) || oneLine(stdout);
      resolve(said ? `${said} (exit ${code})` : `it exited with code ${code}`);
    });
  });
}
