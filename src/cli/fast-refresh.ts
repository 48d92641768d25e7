/**
 * The refresh fast path of `gatepass token` (dist/refresh.js, one self-contained file loaded by
 * dist/cli.js only when the cached OIDC token is missing or too old): the same token source as the
 * full command — the lock, the refresh grant through openid-client, the saved tokens and token_ref —
 * without the command tree (commander) and without parsing the YAML config (the fast path's
 * snapshot, snapshot.ts, is the config). A refresh happens once per token lifetime in every tool
 * that runs the helper, so its start-up is felt too.
 *
 * It serves only what it would serve exactly like the full command: a `gatepass token` the cache
 * fast path understood (fast-token.ts) for a provider that is not interactive here — logged in
 * before (token_ref), no --interactive / --skip-browser, GATEPASS_INTERACTIVE not on, not kubectl's
 * interactive exec-credential — so a failed refresh ends in the same error, not in a login. Once the
 * token source runs, the outcome is this path's (token on stdout, or the error and exit code the
 * full CLI gives, report-error.ts): a refresh grant is never sent twice.
 */
import { createOidcTokenSource } from '../auth/oidc/source.js';
import type { AuthContext, TokenRequest } from '../auth/types.js';
import { createLogger } from '../log.js';
import { egressPlan } from '../net/egress.js';
import { hasTlsOptions } from '../net/tls.js';
import { registerSecret } from '../redact.js';
import { openSecretStore } from '../secrets/index.js';
import { envBool } from '../util/env.js';
import { writeStdout } from './fast-entry.js';
import { bufferStream, type FastTokenPlan, planFastToken } from './fast-token.js';
import { reportFailure } from './report-error.js';
import { formatToken } from './token-format.js';

/**
 * Would the full command run this invocation non-interactively (commands/token.ts,
 * tokenInteractivity)? Only then is it served here; any doubt leaves it to the full CLI.
 */
export function refreshServable(
  plan: FastTokenPlan,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): boolean {
  if (plan.provider.type !== 'oidc' || !plan.provider.token_ref) return false;
  // Through an egress proxy or with TLS options the IdP requests need undici (net/tls-fetch.ts),
  // which this bundle leaves out: the full CLI refreshes then.
  if (hasTlsOptions(plan.provider.tls) || egressPlan(plan.provider.network, env).active) return false;
  if (argv.includes('--interactive') || argv.includes('--skip-browser')) return false;
  const flag = envBool(env, 'GATEPASS_INTERACTIVE');
  if (flag === true) return false;
  // kubectl may say it can interact (KUBERNETES_EXEC_INFO): the full command decides.
  if (flag === undefined && plan.args.format === 'exec-credential' && env['KUBERNETES_EXEC_INFO'])
    return false;
  return true;
}

/** What the refresh fast path answered: print `stdout` and `stderr`, exit with `exitCode`. */
export interface RefreshAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Answer `gatepass token` by refreshing the OIDC provider's token: the token, or the error the full
 * CLI would print with its exit code. Undefined (nothing changed) when the full CLI must run.
 */
export async function refreshToken(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  now: () => number = Date.now,
): Promise<RefreshAnswer | undefined> {
  let plan: FastTokenPlan | undefined;
  try {
    plan = planFastToken(argv, env);
  } catch {
    return undefined;
  }
  if (!plan || !refreshServable(plan, argv, env) || plan.provider.type !== 'oidc') return undefined;
  const { args, paths, config, name, provider, minValidityMs } = plan;
  const stderr = bufferStream();
  const logger = createLogger({ verbose: false, quiet: Boolean(args.quiet), stream: stderr });
  try {
    const ctx: AuthContext = {
      config,
      configFile: paths.configFile,
      paths,
      logger,
      env,
      now,
      secrets: await openSecretStore({ paths, env, logger }),
      interactive: false,
      skipBrowser: false,
      stderr,
    };
    const source = createOidcTokenSource(ctx, name, provider, { secretKey: plan.secretKey! });
    const request: TokenRequest =
      minValidityMs === undefined ? { interactive: false } : { interactive: false, minValidityMs };
    const result = await source.getToken(request);
    registerSecret(result.token);
    return { stdout: formatToken(result, args.format), stderr: stderr.text, exitCode: 0 };
  } catch (err) {
    const exitCode = reportFailure(err, { stderr }, false);
    return { stdout: '', stderr: stderr.text, exitCode };
  }
}

/** refreshToken() for the executable: print its answer; false when the full CLI must run. */
export async function serveRefresh(argv: string[]): Promise<boolean> {
  const answer = await refreshToken(argv, process.env);
  if (!answer) return false;
  if (answer.stderr) process.stderr.write(answer.stderr);
  if (answer.stdout) writeStdout(answer.stdout);
  process.exitCode = answer.exitCode;
  return true;
}
