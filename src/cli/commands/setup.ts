import { findField } from '../../config/validate.js';
import { MODELS_AUTO } from '../../setup/models.js';
import { runSetup } from '../../setup/setup.js';
import type { CliContext } from '../context.js';
import { SETUP_FIELDS } from '../defs/setup-fields.js';
import { checkProviderExists } from '../provider-check.js';
import { runEnvFrom } from './runenv.js';

interface SetupFlags {
  tools?: string;
  lazy?: boolean;
  dryRun?: boolean;
  skipBrowser?: boolean;
  bedrockCompat?: boolean;
  proxyService?: boolean;
  [flag: string]: unknown;
}

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export async function run(ctx: CliContext, options: SetupFlags): Promise<number> {
  const assignments: Array<[string, string]> = [];
  for (const key of SETUP_FIELDS) {
    const v = options[camel(findField(key)!.flag)];
    // `--models auto`: listed from the gateway once signed in, not a model named "auto".
    if (key === 'models' && typeof v === 'string' && v.trim() === MODELS_AUTO) continue;
    if (typeof v === 'string') assignments.push([key, v]);
    else if (v === true) assignments.push([key, 'true']);
  }
  // Without inline settings setup creates no provider: naming an unknown one is a usage error.
  if (!assignments.length) await checkProviderExists('status', ctx.globals.provider, ctx.paths.configFile);
  // Zero-config: the issuer, resource and client id the user did not give, found from the gateway.
  const { zeroConfigAssignments } = await import('../../setup/zero-config.js');
  assignments.push(
    ...(await zeroConfigAssignments(runEnvFrom(ctx), {
      ...(ctx.globals.provider ? { provider: ctx.globals.provider } : {}),
      assignments,
      dryRun: Boolean(options.dryRun),
    })),
  );
  const result = await runSetup(runEnvFrom(ctx), {
    ...(ctx.globals.provider ? { provider: ctx.globals.provider } : {}),
    assignments,
    ...(options.tools !== undefined ? { tools: [options.tools] } : {}),
    lazy: Boolean(options.lazy),
    dryRun: Boolean(options.dryRun),
    skipBrowser: Boolean(options.skipBrowser),
    modelsAuto: typeof options['models'] === 'string' && options['models'].trim() === MODELS_AUTO,
    // true: --bedrock-compat, false: --no-bedrock-compat, absent: keep the saved setting.
    ...(typeof options.bedrockCompat === 'boolean' ? { bedrockCompat: options.bedrockCompat } : {}),
  });
  const { afterSetup } = await import('../../setup/service-hooks.js');
  await afterSetup(runEnvFrom(ctx), result, {
    proxyService: Boolean(options.proxyService),
    dryRun: Boolean(options.dryRun),
  });
  return 0;
}
