/** `gatepass mdm print`: the selected provider's managed configuration in an MDM format (config/mdm.ts). */
import {
  type MdmFormat,
  managedData,
  managedMobileconfig,
  managedReg,
  managedYaml,
} from '../../config/mdm.js';
import { loadConfig, requireProvider } from '../../config/store.js';
import type { CliContext } from '../context.js';

export async function run(ctx: CliContext, options: { format?: MdmFormat }): Promise<number> {
  const { config } = await loadConfig(ctx.paths.configFile);
  const { name, provider } = requireProvider(config, ctx.globals.provider, ctx.paths.configFile);
  const data = managedData(config, name, provider);
  const format = options.format ?? 'yaml';
  const text =
    format === 'mobileconfig'
      ? managedMobileconfig(data, name)
      : format === 'reg'
        ? managedReg(data)
        : managedYaml(data);
  ctx.print(text.trimEnd());
  return 0;
}
