/**
 * What the `gatepass mcp` CLI tests share: their two-provider `--config` file, and `mcp add` killed
 * (SIGKILL) after each durable step in turn until it completes, with the checks every step must pass.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { type RunResult, runGatepass } from './cli.js';

/**
 * The `--config` file the MCP CLI tests share: a default provider `other` whose token is never set,
 * and `work`, a command provider reading GP_TEST_TOKEN, with the proxy on `port`. Written with its
 * directory; returns the file's path.
 */
export function writeTwoProviderConfig(file: string, port: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `version: 1
default_provider: other
providers:
  other:
    type: command
    gateway_url: https://gw.example.test
    auth: { env_var: NOPE_TOKEN }
  work:
    type: command
    gateway_url: https://gw.example.test
    auth: { env_var: GP_TEST_TOKEN }
proxy:
  listen_port: ${port}
`,
  );
  return file;
}

export interface KilledAddOptions {
  /** The `mcp add` command line (with --config and --provider). */
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The --config file: an `mcp:wiki` entry in it means that run committed. */
  configFile: string;
  /** gatepass with the same --config and provider. */
  gp: (args: string[]) => Promise<RunResult>;
  /** The local proxy key, which `status` must never print. */
  key: string;
  /** After each step, once rolled back or removed: the tools' files are as they were. */
  check: (step: number) => void;
}

/**
 * Run `mcp add` killed after step 1, 2, … until a run completes: after each kill the next gatepass
 * run (`status`) rolls it back, or it had committed and `mcp remove wiki` takes it out. Returns how
 * many runs were rolled back.
 */
export async function addKilledAtEveryStep(o: KilledAddOptions): Promise<number> {
  let completed = false;
  let rolledBack = 0;
  for (let step = 1; step <= 40 && !completed; step++) {
    const r = await runGatepass(o.args, {
      env: { ...o.env, GATEPASS_TEST_CRASH_AFTER_STEP: String(step) },
      ...(o.cwd ? { cwd: o.cwd } : {}),
    });
    completed = r.code === 0;
    if (!completed) expect(r.signal, `step ${step}: ${r.stderr}`).toBe('SIGKILL');
    const status = await o.gp(['status']);
    expect(status.stdout + status.stderr).not.toContain(o.key);
    if (readFileSync(o.configFile, 'utf8').includes('mcp:wiki')) {
      expect((await o.gp(['mcp', 'remove', 'wiki'])).code).toBe(0);
    } else rolledBack++;
    o.check(step);
  }
  expect(completed).toBe(true);
  return rolledBack;
}
