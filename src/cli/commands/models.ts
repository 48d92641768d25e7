/**
 * `gatepass models`: the gateway's model list with the provider's token (never a login), one id a
 * line, or JSON with the Claude Code tier picks.
 */
import { createTokenSource } from '../../auth/factory.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import { requireUsableProvider } from '../../config/validate.js';
import { GatepassError } from '../../errors.js';
import { stripControl } from '../../redact.js';
import { gatewayFetch, listModels } from '../../setup/models.js';
import { pickTiers } from '../../tools/model-pick.js';
import { buildAuthContext } from '../auth-context.js';
import type { CliContext } from '../context.js';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  requireUsableProvider(name, provider, config);
  const auth = await buildAuthContext(ctx, { config, interactive: false, skipBrowser: true });
  const source = await createTokenSource(auth, name, provider);
  const { token } = await source.getToken({ interactive: false });
  const listing = await listModels(provider, token, gatewayFetch(provider, ctx.env));
  if (!listing) {
    throw new GatepassError(
      'E_IO',
      `the gateway at ${provider.gateway_url} has no model list (GET …/v1/models: 404)`,
      {
        hint: 'check the gateway URL and path prefixes (`gatepass config show`); give the models with `gatepass setup --models <id,…>`',
      },
    );
  }
  const models = listing.models.map((m) => stripControl(m, { singleLine: true }));
  if (options.json) {
    ctx.print(
      JSON.stringify(
        { provider: name, url: listing.url, models, claude_code_tiers: pickTiers(models) },
        null,
        2,
      ),
    );
  } else {
    for (const m of models) ctx.print(m);
    if (!models.length) ctx.logger.info(`The gateway at ${listing.url} lists no models.`);
  }
  return 0;
}
