/**
 * The in-process surroundings of runSetup/runTeardown/collectStatus for orchestration tests: a temp
 * HOME's paths, a platform to pretend to be, an injected secret store, and captured output.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatepassPaths } from '../../src/config/paths.js';
import { silentLogger } from '../../src/log.js';
import type { SecretStore } from '../../src/secrets/types.js';
import type { RunEnv } from '../../src/setup/common.js';
import type { TempHome } from './cli.js';

export interface SetupEnvOptions {
  t: TempHome;
  store: SecretStore;
  /** Receives info lines and command output. */
  out: string[];
  warnings: string[];
  platform?: NodeJS.Platform;
}

export function setupRunEnv({ t, store, out, warnings, platform = 'linux' }: SetupEnvOptions): RunEnv {
  const dataDir = path.join(t.home, '.local/share/gatepass');
  const paths: GatepassPaths = {
    configFile: t.configFile,
    configDir: path.dirname(t.configFile),
    cacheDir: path.join(t.home, '.cache/gatepass'),
    stateDir: dataDir,
    dataDir,
  };
  return {
    paths,
    env: {
      HOME: t.home,
      PATH: '',
      APPDATA: path.join(t.home, 'AppData/Roaming'),
      LOCALAPPDATA: path.join(t.home, 'AppData/Local'),
      // BASE_FLAGS' hosts are placeholders, refused by setup without this.
      GATEPASS_ALLOW_PLACEHOLDER_HOSTS: '1',
    },
    home: t.home,
    platform,
    logger: { ...silentLogger, warn: (m) => warnings.push(m), info: (m) => out.push(m) },
    out: (l) => out.push(l),
    stderr: process.stderr,
    now: () => Date.now(),
    openStore: async () => store,
  };
}

/** Write a file under the temp HOME (creating its directories); returns its absolute path. */
export function writeHomeFile(t: TempHome, rel: string, text: string): string {
  const f = path.join(t.home, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}

export const readHomeFile = (t: TempHome, rel: string): string =>
  readFileSync(path.join(t.home, rel), 'utf8');

/** The inline settings every orchestration test sets up with. */
export const BASE_FLAGS: Array<[string, string]> = [
  ['gateway_url', 'https://llm.example.com'],
  ['oidc.issuer', 'https://sso.example.com'],
  ['oidc.client_id', 'gatepass'],
];
