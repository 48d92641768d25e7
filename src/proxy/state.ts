/**
 * The background proxy's state file (`<stateDir>/proxy.json`), shared by `gatepass proxy
 * start --background|stop|status`, `gatepass status` and `gatepass teardown`.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GatepassPaths } from '../config/paths.js';
import { writeFileAtomic } from '../util/fs.js';

/** Health endpoint served by the proxy (no auth; reveals no secret). */
export const HEALTH_PATH = '/.gatepass/health';

export interface ProxyState {
  pid: number;
  port: number;
  /** Base URL clients use, e.g. http://127.0.0.1:14000 */
  url: string;
  provider: string;
  /** Epoch milliseconds. */
  startedAt: number;
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
