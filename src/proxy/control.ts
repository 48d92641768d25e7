/**
 * Control of a background proxy recorded in the state file: health probe, status, stop. Shared by
 * `gatepass proxy stop|status`, `gatepass status` and `gatepass teardown`.
 */
import { readFile } from 'node:fs/promises';
import type { GatepassPaths } from '../config/paths.js';
import { HEALTH_PATH, type ProxyState, processAlive, readProxyState, removeProxyState } from './state.js';

export interface StopResult {
  /** True when a running proxy was stopped. */
  stopped: boolean;
  pid?: number;
  /** SIGKILL was needed after SIGTERM timed out. */
  forced?: boolean;
  /** The state file named a process that was gone or not a gatepass proxy; the file was removed. */
  stale?: boolean;
}

export interface Health {
  ok: boolean;
  version?: string;
  provider?: string;
  pid?: number;
  /** The HTTP engine serving clients ('wire' or 'node'). */
  engine?: string;
}

/** GET the proxy's health endpoint; undefined when nothing (healthy) answers in time. */
export async function probeHealth(port: number, timeoutMs = 1_000): Promise<Health | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${HEALTH_PATH}`, {
      signal: AbortSignal.timeout(timeoutMs),
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

export async function getProxyStatus(paths: GatepassPaths): Promise<ProxyStatus> {
  const state = await readProxyState(paths);
  if (!state) return { running: false };
  if (!processAlive(state.pid)) return { running: false, state, stale: true };
  const health = await probeHealth(state.port);
  const running = health?.pid === state.pid;
  return { running, state, ...(health ? { health } : {}), ...(running ? {} : { stale: !health }) };
}

/** Is `pid` (per /proc, where there is one) a gatepass proxy? undefined when it cannot be told. */
async function looksLikeOurProxy(pid: number): Promise<boolean | undefined> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes('proxy') && cmdline.includes('start');
  } catch {
    return undefined;
  }
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
 * after `timeoutMs`. Only signals a process proven to be our proxy (its health endpoint reports the
 * recorded pid, or /proc shows a `proxy start` command line), so a recycled pid is never killed.
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
  const health = await probeHealth(state.port);
  const ours = health?.pid === pid || (await looksLikeOurProxy(pid)) === true;
  if (!ours) {
    await removeProxyState(paths);
    return { stopped: false, pid, stale: true };
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
