/**
 * `gatepass env`: print the selected provider's token as environment variables, or Trailblaze
 * instrumentation args for every provider. Prints secrets on stdout by design (see its help).
 */
import { formatVariables, instrumentationArgs, tokenVariables } from '../../auth/export.js';
import { createTokenSource } from '../../auth/factory.js';
import type { AuthContext } from '../../auth/types.js';
import type { Provider } from '../../config/schema.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { requireUsableProvider } from '../../config/validate.js';
import { describeError } from '../../errors.js';
import { programCaFile } from '../../net/program-ca.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

type Format = 'shell' | 'dotenv' | 'json' | 'instrumentation-args';

async function tokenOf(auth: AuthContext, name: string, provider: Provider, interactive: boolean) {
  const source = await createTokenSource(auth, name, provider);
  return (await source.getToken({ interactive })).token;
}

export async function run(ctx: CliContext, options: { format?: Format }): Promise<number> {
  const format = options.format ?? 'shell';
  const { config } = await loadConfig(ctx.paths.configFile);
  const selected = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  const auth = await buildAuthContext(ctx, { config, interactive: ctx.interactiveTerminal });
  const token = await tokenOf(auth, selected.name, selected.provider, ctx.interactiveTerminal);
  if (format !== 'instrumentation-args') {
    const extraCaFile = await programCaFile(selected.provider.tls, ctx.env, ctx.paths.cacheDir);
    ctx.print(
      formatVariables(tokenVariables(selected.name, selected.provider, token, { extraCaFile }), format),
    );
    return 0;
  }
  // Every other provider too, but never interactively (one login prompt per provider would be a
  // surprise); a provider without a token is skipped with a warning, as the plan's `continue` does.
  const tokens: Array<[string, string]> = [];
  for (const [name, provider] of Object.entries(config.providers)) {
    if (name === selected.name) {
      tokens.push([name, token]);
      continue;
    }
    try {
      requireUsableProvider(name, provider, config);
      tokens.push([name, await tokenOf(auth, name, provider, false)]);
    } catch (err) {
      ctx.logger.warn(`no token for provider "${name}", left out: ${describeError(err).split('\n')[0]}`);
    }
  }
  for (const [k, v] of instrumentationArgs(tokens, selected)) ctx.print(`${k}=${v}`);
  return 0;
}
