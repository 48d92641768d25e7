/**
 * Setup step 7, report: the `--lazy` notice, what was configured, the manual steps, which tools to
 * restart and whether `gatepass proxy` must run; and the `SetupResult` summary.
 */
import { TOOLS } from '../tools/index.js';
import { hintCommand, type RunEnv } from './common.js';
import type {
  PlannedTool,
  SetupConfig,
  SetupOptions,
  SetupPlan,
  SetupResult,
  SignedIn,
  Wiring,
} from './setup-state.js';

/** `--lazy` notice (stderr, quiet with -q; only when a tool was wired). */
export const LAZY_MESSAGE =
  "Lazy mode: skipping OIDC login. You'll be signed in automatically the first time a configured tool accesses the LLM gateway: a browser opens then, or, when none can be opened, the tool's gatepass helper prints the sign-in URL on stderr. `gatepass login` signs you in now.";

/** `--lazy` for a command provider: its token_command (if any) runs on first use instead. */
export const LAZY_COMMAND_MESSAGE =
  'Lazy mode: not running the token command now. It runs the first time a configured tool accesses the LLM gateway (or now: `gatepass login`).';

export function reportSetup(
  run: RunEnv,
  options: SetupOptions,
  config: SetupConfig,
  wiring: Wiring,
  plan: SetupPlan,
  signedIn: SignedIn,
): SetupResult {
  const { providerName, provider, merged } = config;
  const { planned, manual } = plan;
  if (options.lazy && planned.some(({ tool }) => tool.mode !== 'manual'))
    run.logger.info(provider.type === 'command' ? LAZY_COMMAND_MESSAGE : LAZY_MESSAGE);
  const result = summarize(providerName, planned, manual, signedIn.loggedIn);
  for (const t of result.tools) {
    if (t.mode === 'manual') continue; // its steps are printed below
    const label =
      TOOLS.find((x) => x.id === t.id)?.modeLabel ??
      (t.mode === 'direct' ? 'token-helper mode' : 'proxy mode');
    run.logger.info(
      `${t.changed ? 'Configured' : 'Already configured'} ${t.name} (${label}): ${t.files.join(', ')}`,
    );
  }
  if (result.tools.length === 0) run.logger.info('No supported AI tools were found to configure.');
  for (const line of manual) run.logger.info(line);
  const restarts = planned
    .filter(({ files }) => files.some((f) => f.before !== f.after))
    .map(({ tool }) => `  - ${tool.name}: ${tool.restart}`);
  if (restarts.length) run.logger.info(`Restart needed:\n${restarts.join('\n')}`);
  if (wiring.proxyTools.length)
    run.logger.info(
      `Proxy-mode tools need \`${hintCommand(run, providerName, merged, 'proxy start')}\` running.`,
    );
  return result;
}

export function describeTools(planned: Array<{ tool: { name: string } }>): string {
  return planned.length ? planned.map((p) => p.tool.name).join(', ') : 'no tools';
}

export function summarize(
  provider: string,
  planned: PlannedTool[],
  manual: string[],
  loggedIn: boolean,
): SetupResult {
  return {
    provider,
    tools: planned.map(({ tool, files }) => ({
      id: tool.id,
      name: tool.name,
      mode: tool.mode,
      files: files.map((f) => f.file),
      changed: files.some((f) => f.before !== f.after),
    })),
    manual,
    loggedIn,
  };
}
