/**
 * Shared steps of the real-tool e2e tests: a temp HOME with a command provider whose token is a
 * random marker (so the test knows exactly which bearer the gateway must receive), the tool's own
 * binary from node_modules/.bin, and an environment that keeps the tool offline (no telemetry,
 * update checks or onboarding).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempHome, ROOT, type RunResult, runGatepass, runProcess, type TempHome } from './cli.js';
import type { TestIdp } from './idp.js';
import { freePort } from './ports.js';

/**
 * The tools' binaries: the pinned versions in node_modules/.bin (OpenCode's: opencodeBin), or with
 * GATEPASS_TEST_TOOLS_DIR (`npm run test:e2e:latest`, scripts/test-e2e-latest.mjs) those of another
 * npm prefix holding other releases of them.
 */
const TOOLS_DIR = process.env['GATEPASS_TEST_TOOLS_DIR'];
const TOOLS_MODULES = path.join(TOOLS_DIR ? path.resolve(TOOLS_DIR) : ROOT, 'node_modules');
export const BIN = path.join(TOOLS_MODULES, '.bin');

/**
 * OpenCode's native executable, from its platform package (an optional dependency of `opencode-ai`,
 * whose postinstall would copy it over the placeholder `opencode-ai/bin/opencode.exe`; npm here runs
 * no install scripts). The same choice as that postinstall: the baseline build on x64 CPUs without
 * AVX2, then the others that may be installed. Give it to runTool as the binary.
 */
export function opencodeBin(): string {
  const os = ({ darwin: 'darwin', linux: 'linux', win32: 'windows' } as Record<string, string>)[
    process.platform
  ];
  const base = `opencode-${os ?? process.platform}-${process.arch}`;
  const avx2 =
    process.arch !== 'x64' ||
    process.platform !== 'linux' ||
    /(^|\s)avx2(\s|$)/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const names = avx2
    ? [base, `${base}-baseline`, `${base}-musl`, `${base}-baseline-musl`]
    : [`${base}-baseline`, base, `${base}-baseline-musl`, `${base}-musl`];
  const exe = process.platform === 'win32' ? 'opencode.exe' : 'opencode';
  for (const name of names) {
    const file = path.join(TOOLS_MODULES, name, 'bin', exe);
    if (existsSync(file)) return file;
  }
  throw new Error(`OpenCode's binary is not installed: none of ${names.join(', ')} in ${TOOLS_MODULES}`);
}

/**
 * For runTool's extraEnv with OpenCode; keeps it offline: no models.dev catalogue, update check, LSP download or sharing, and npm
 * (which it runs to install plugins into its config directory) pointed at a closed loopback port, so
 * a run proves that the provider gatepass wires (`@ai-sdk/openai-compatible`) is bundled in OpenCode.
 */
export const OPENCODE_OFFLINE_ENV: NodeJS.ProcessEnv = {
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  OPENCODE_DISABLE_SHARE: '1',
  npm_config_registry: 'http://127.0.0.1:9/',
};

/** `gatepass setup` flags wiring `tools` to a gateway behind the real IdP (a free callback port). */
export async function oidcSetupFlags(gatewayUrl: string, idp: TestIdp, tools: string): Promise<string[]> {
  return [
    '--gateway-url',
    gatewayUrl,
    '--issuer',
    idp.issuer,
    '--client-id',
    idp.clientId,
    '--callback-port',
    String(await freePort()),
    '--tools',
    tools,
  ];
}

export interface ToolHome extends TempHome {
  token: string;
  gp(args: string[]): Promise<RunResult>;
}

export async function makeToolHome(gatewayUrl: string): Promise<ToolHome> {
  const t = makeTempHome({
    PATH: `${BIN}${path.delimiter}${process.env['PATH'] ?? ''}`,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CODEX_DISABLE_UPDATE_CHECK: '1',
  });
  // Strip anything that could point the tools elsewhere than the temp HOME's settings.
  for (const k of Object.keys(t.env)) {
    if (/^(ANTHROPIC_|OPENAI_|CLAUDE_CONFIG_DIR$|CODEX_HOME$|GEMINI_|GOOGLE_|OPENCODE_)/.test(k))
      delete t.env[k];
  }
  const token = `gp-e2e-${randomBytes(12).toString('hex')}`;
  const gp = (args: string[]) => runGatepass(args, { env: t.env, cwd: t.home, timeoutMs: 60_000 });
  const set = await gp([
    'config',
    'set',
    '--provider',
    'e2e',
    '--type',
    'command',
    '--gateway-url',
    gatewayUrl,
    '--token-command',
    `echo ${token}`,
    '--default-provider',
    'e2e',
  ]);
  if (set.code !== 0) throw new Error(`gatepass config set failed: ${set.stderr}`);
  return { ...t, token, gp };
}

/** Run a tool binary from node_modules/.bin (or an absolute path) in the temp HOME (stdin closed, no TTY). */
export function runTool(
  t: TempHome,
  bin: string,
  args: string[],
  timeoutMs = 120_000,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return runProcess(path.resolve(BIN, bin), args, { env: { ...t.env, ...extraEnv }, cwd: t.home, timeoutMs });
}

/**
 * `gatepass token` must print exactly the provider's token. It is built on another branch: until
 * that is merged this fails loudly (never skips), which is the point of a self-checking e2e test.
 */
export async function expectGatepassToken(t: ToolHome): Promise<void> {
  const r = await t.gp(['token']);
  if (r.code !== 0 || r.stdout !== `${t.token}\n`) {
    throw new Error(
      `\`gatepass token\` did not print the provider's token (exit ${r.code}, stderr: ${r.stderr.trim().slice(0, 300)}). ` +
        'It is implemented on another branch; this e2e test goes green once that is merged.',
    );
  }
}
