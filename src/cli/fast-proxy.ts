/**
 * The lean entry of `gatepass proxy start` (dist/proxy.cjs, required by the bin (dist/fast.js) once
 * fast-proxy-plan.ts said yes): the proxy that stays running — in a terminal, as the background
 * child, or as the service `gatepass proxy install` writes — starts without the command tree
 * (commander) and without the YAML parser, which with their loading held ~8 MiB of its idle memory
 * (bench/README.md, issue 19; idle RSS 57 -> 49 MiB).
 *
 * The config comes from the JSON snapshot kept next to the YAML (config/snapshot.ts: 0600, used only
 * while the YAML's size, mtime and content hash and the managed layer's source still match, both
 * files trusted); any full-CLI run that parses the YAML rewrites it, so the background child finds
 * the snapshot its parent just refreshed, and a stale one is rebuilt by a short-lived `gatepass
 * config show` (fast-proxy-plan.ts). It serves only what it serves exactly like the full command
 * and hands everything else, untouched, to the full CLI, which then behaves as if this did not exist:
 * - argv is `proxy start` with only options this parser knows, each value plain (anything else —
 *   help, typos, `-vq`, `--port=` empty, a value that looks like an option — goes to commander);
 * - the environment passes the same checks (a bad GATEPASS_* value: the full CLI reports it);
 * - a fresh snapshot lists the selected provider as usable (it passed requireUsableProvider when the
 *   snapshot was written; an unknown, incomplete or invalid provider: the full CLI prints its error,
 *   exit code included).
 * Once started, the outcome is this path's: the same start (commands/proxy-start.ts), its errors
 * reported by report-error.ts as run.ts does. GATEPASS_PROXY_FAST_PATH=0 turns it off.
 */
import { describeError } from '../errors.js';
import { startProxyCommand } from './commands/proxy-start.js';
import { type CliContext, createContext, defaultIO } from './context.js';
import type { LeanProxyPlan } from './fast-proxy-plan.js';
import { reportFailure } from './report-error.js';

/**
 * Run `gatepass proxy start` from the lean entry with a plan from planLeanProxy(); false (nothing
 * done, nothing printed) when the full CLI must run instead. Sets process.exitCode when it ran.
 */
export async function serveProxyStart(plan: LeanProxyPlan): Promise<boolean> {
  const { config, name } = plan;
  let ctx: CliContext;
  try {
    // The provider passed requireUsableProvider() when the snapshot was written (its `usable` list).
    ctx = createContext(defaultIO(), plan.globals);
  } catch {
    return false;
  }
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const verbose = ctx.logger.verbose;
  try {
    ctx.logger.debug(`gatepass start: config file ${ctx.paths.configFile} (from its snapshot)`);
    process.exitCode = await startProxyCommand(ctx, plan.options, async () => ({
      config,
      name,
      provider: config.providers[name]!,
    }));
  } catch (err) {
    try {
      process.exitCode = reportFailure(err, ctx, verbose);
    } catch (inner) {
      process.stderr.write(`gatepass: internal error: ${describeError(inner)}\n`);
      process.exitCode = 1;
    }
  }
  return true;
}
