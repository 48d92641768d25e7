/**
 * The background proxy's state file (`<stateDir>/proxy.json`), shared by `gatepass proxy
 * start --background|stop|status`, `gatepass status` and `gatepass teardown`.
 */
import { createHmac } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GatepassPaths } from '../config/paths.js';
import { writeFileAtomic } from '../util/fs.js';

/**
 * Health endpoint served by the proxy (no key needed; reveals no secret). Its pid only to a client
 * presenting the local key; a proof of identity only to a CONTROL_HEADER challenge.
 */
export const HEALTH_PATH = '/.gatepass/health';

/** Request header carrying a control challenge (hex); the answer's `proof` is controlProof(). */
export const CONTROL_HEADER = 'x-gatepass-challenge';

/** Environment variable handing the background proxy its nonce (never argv: `ps` shows argv). */
export const NONCE_ENV = 'GATEPASS_PROXY_NONCE';

/** HMAC-SHA256(nonce, "<challenge>:<pid>") in hex: what only the proxy holding `nonce` can answer. */
export function controlProof(nonce: string, challenge: string, pid: number): string {
  return createHmac('sha256', nonce).update(`${challenge}:${pid}`).digest('hex');
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined without /proc. */
export async function processStartTicks(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export interface ProxyState {
  pid: number;
  port: number;
  /** Base URL clients use, e.g. http://127.0.0.1:14000 */
  url: string;
  provider: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /**
   * The secret only this proxy knows (0600 file; given to the child in its environment): `proxy
   * stop|status` send a random challenge, and only the real proxy answers with its HMAC.
   */
  nonce?: string;
  /** The process' start time in clock ticks since boot (/proc/<pid>/stat), where there is a /proc. */
  procStart?: number;
}

export function proxyStateFile(paths: GatepassPaths): string {
  return path.join(paths.stateDir, 'proxy.json');
}

export async function readProxyState(paths: GatepassPaths): Promise<ProxyState | undefined> {
  let text: string;
  try {
    text = await readFile(proxyStateFile(paths), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<ProxyState>;
    // A damaged file must never make us probe or signal pid 0 / -1 (process groups, everything).
    const pid = v?.pid;
    const port = v?.port;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 2) return undefined;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
    return {
      pid,
      port,
      url: typeof v.url === 'string' ? v.url : `http://127.0.0.1:${v.port}`,
      provider: typeof v.provider === 'string' ? v.provider : 'default',
      startedAt: typeof v.startedAt === 'number' ? v.startedAt : 0,
      ...(typeof v.nonce === 'string' && /^[0-9a-f]{32,128}$/.test(v.nonce) ? { nonce: v.nonce } : {}),
      ...(typeof v.procStart === 'number' && Number.isSafeInteger(v.procStart)
        ? { procStart: v.procStart }
        : {}),
    };
  } catch {
    return undefined;
  }
}

export async function writeProxyState(paths: GatepassPaths, state: ProxyState): Promise<void> {
  await writeFileAtomic(proxyStateFile(paths), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function removeProxyState(paths: GatepassPaths): Promise<void> {
  await rm(proxyStateFile(paths), { force: true });
}

/** True when a process with this pid exists (signal 0 probe). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
