/**
 * Control of a background proxy recorded in the state file: health probe, status, stop. Shared by
 * `gatepass proxy stop|status`, `gatepass status` and `gatepass teardown`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { GatepassPaths } from '../config/paths.js';
import {
  CONTROL_HEADER,
  controlProof,
  HEALTH_PATH,
  type ProxyState,
  processAlive,
  processStartTicks,
  readProxyState,
  removeProxyState,
} from './state.js';

export interface StopResult {
  /** True when a running proxy was stopped. */
  stopped: boolean;
  pid?: number;
  /** SIGKILL was needed after SIGTERM timed out. */
  forced?: boolean;
  /** The state file named a process that was gone or not a gatepass proxy; the file was removed. */
  stale?: boolean;
  /** The recorded process is alive but could not be proven to be our proxy: it was not signalled. */
  unverified?: boolean;
}

export interface Health {
  ok: boolean;
  version?: string;
  provider?: string;
  pid?: number;
  /** The HTTP engine serving clients ('wire' or 'node'). */
  engine?: string;
  /** The answer to a control challenge (see controlProof). */
  proof?: string;
}

/**
 * GET the proxy's health endpoint; undefined when nothing (healthy) answers in time. With `key` (the
 * local proxy key) the answer names the pid; with `challenge` it carries the proxy's proof.
 */
export async function probeHealth(
  port: number,
  timeoutMs = 1_000,
  auth: { key?: string; challenge?: string } = {},
): Promise<Health | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${HEALTH_PATH}`, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        ...(auth.key ? { 'x-api-key': auth.key } : {}),
        ...(auth.challenge ? { [CONTROL_HEADER]: auth.challenge } : {}),
      },
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as Health;
    return body && body.ok === true ? body : undefined;
  } catch {
    return undefined;
  }
}

export interface ProxyStatus {
  running: boolean;
  state?: ProxyState;
  health?: Health;
  /** A state file exists but its process is gone. */
  stale?: boolean;
}

/**
 * Does the process answering on `port` hold `nonce`, and is its pid `pid`? A random challenge, and
 * its HMAC under the nonce checked here: an impostor on the port (another user's, or any process
 * reporting some pid) cannot answer it, and learns nothing reusable from the challenge.
 */
export async function provesIdentity(
  port: number,
  nonce: string,
  pid: number,
  timeoutMs = 1_000,
): Promise<boolean> {
  const challenge = randomBytes(16).toString('hex');
  const h = await probeHealth(port, timeoutMs, { challenge });
  if (typeof h?.proof !== 'string') return false;
  const want = Buffer.from(controlProof(nonce, challenge, pid));
  const got = Buffer.from(h.proof);
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function getProxyStatus(paths: GatepassPaths): Promise<ProxyStatus> {
  const state = await readProxyState(paths);
  if (!state) return { running: false };
  if (!processAlive(state.pid)) return { running: false, state, stale: true };
  const health = await probeHealth(state.port);
  const running = state.nonce !== undefined && (await provesIdentity(state.port, state.nonce, state.pid));
  return { running, state, ...(health ? { health } : {}), ...(running ? {} : { stale: !health }) };
}

/**
 * Is the recorded process, per /proc, our proxy? Same user, the start time recorded when it was
 * started (a recycled pid started later), and a `proxy start` command line. undefined without /proc.
 */
async function procShowsOurProxy(state: ProxyState): Promise<boolean | undefined> {
  const { pid } = state;
  let cmdline: string[];
  let owner: number;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    owner = (await stat(`/proc/${pid}`)).uid;
  } catch {
    return undefined;
  }
  if (owner !== process.getuid?.()) return false;
  if (!cmdline.includes('proxy') || !cmdline.includes('start')) return false;
  const ticks = await processStartTicks(pid);
  return state.procStart !== undefined && ticks === state.procStart;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await sleep(25);
  }
  return !processAlive(pid);
}

/**
 * Stop the background proxy: SIGTERM (graceful: running streams get a few seconds), then SIGKILL
 * after `timeoutMs`. Only signals a process proven to be our proxy: it answers the control challenge
 * with the nonce recorded in the state file, or (not answering) /proc shows the recorded process (its
 * user, start time and command line). Whatever answers health on the port without that proof, and
 * whatever pid it names, is never signalled.
 */
export async function stopBackgroundProxy(
  paths: GatepassPaths,
  options: { timeoutMs?: number } = {},
): Promise<StopResult> {
  const state = await readProxyState(paths);
  if (!state) return { stopped: false };
  const { pid } = state;
  if (!processAlive(pid)) {
    await removeProxyState(paths);
    return { stopped: false, pid, stale: true };
  }
  const proven = state.nonce !== undefined && (await provesIdentity(state.port, state.nonce, pid));
  const ours = proven || (await procShowsOurProxy(state)) === true;
  if (!ours) {
    await removeProxyState(paths);
    return { stopped: false, pid, stale: true, unverified: true };
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  let forced = false;
  if (!(await waitForExit(pid, options.timeoutMs ?? 8_000))) {
    forced = true;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await waitForExit(pid, 2_000);
  }
  await removeProxyState(paths);
  return { stopped: true, pid, ...(forced ? { forced } : {}) };
}
