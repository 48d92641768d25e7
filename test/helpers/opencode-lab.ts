/**
 * What the real-OpenCode e2e tests share: the real IdP, the browser hook, the fake gateway, a temp
 * HOME with gatepass on PATH and no OPENAI_/OPENCODE_ variables of the developer's, a `--config`
 * file of the user's own (`work/gatepass.yaml`) and provider `work`, and gatepass run with them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { type BrowserHook, startBrowserHook } from './browser.js';
import { makeTempHome, type RunResult, runGatepass, type TempHome } from './cli.js';
import { type FakeLlm, startFakeLlm } from './fake-llm.js';
import { startTestIdp, type TestIdp } from './idp.js';
import { freePort } from './ports.js';
import { BIN, oidcSetupFlags } from './tool-e2e.js';

export interface OpencodeLab {
  idp: TestIdp;
  hook: BrowserHook;
  fake: FakeLlm;
  t: TempHome;
  /** The user's own config file, passed with --config. */
  config: string;
  /** OpenCode's user config file in the temp HOME. */
  opencodeFile: string;
  /** gatepass --config <config> --provider work <args>. */
  gp(args: string[]): Promise<RunResult>;
  /**
   * Write `original` as OpenCode's config, then `gatepass setup` for OpenCode (real IdP, `model`, a
   * free proxy port), which must succeed; returns the proxy port.
   */
  setupOpencode(original: string, model: string): Promise<number>;
  /** Stop the proxy, the servers and remove the temp HOME. */
  close(): Promise<void>;
}

export async function startOpencodeLab(): Promise<OpencodeLab> {
  const [idp, hook, fake] = await Promise.all([startTestIdp(), startBrowserHook(), startFakeLlm()]);
  const t = makeTempHome({
    GATEPASS_SECRET_STORE: 'file',
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    ...hook.env,
  });
  for (const k of Object.keys(t.env)) if (/^(OPENAI_|OPENCODE_)/.test(k)) delete t.env[k];
  const config = path.join(t.home, 'work/gatepass.yaml');
  const gp = (args: string[]) =>
    runGatepass(['--config', config, '--provider', 'work', ...args], {
      env: t.env,
      cwd: t.home,
      timeoutMs: 120_000,
    });
  const opencodeFile = path.join(t.home, '.config/opencode/opencode.json');
  const setupOpencode = async (original: string, model: string) => {
    mkdirSync(path.dirname(opencodeFile), { recursive: true });
    writeFileSync(opencodeFile, original);
    const proxyPort = await freePort();
    const flags = await oidcSetupFlags(fake.url, idp, 'opencode');
    const setup = await gp(['setup', ...flags, '--models', model, '--proxy-port', String(proxyPort)]);
    expect(setup.code, setup.stderr).toBe(0);
    return proxyPort;
  };
  const close = async () => {
    await gp(['proxy', 'stop']);
    await fake.close();
    await hook.close();
    await idp.close();
    t.cleanup();
  };
  return { idp, hook, fake, t, config, opencodeFile, gp, setupOpencode, close };
}
