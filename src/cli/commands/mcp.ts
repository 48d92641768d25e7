/** `gatepass mcp add|remove|list` (the work is in src/mcp/wire.ts). */
import { loadConfig } from '../../config/store.js';
import { addMcpServer, listMcpServers, removeMcpServer } from '../../mcp/wire.js';
import type { CliContext } from '../context.js';
import { runEnvFrom } from './runenv.js';

export async function runAdd(
  ctx: CliContext,
  name: string,
  url: string,
  options: { tools?: string; audience?: string },
): Promise<number> {
  await addMcpServer(runEnvFrom(ctx), {
    name,
    url,
    ...(options.tools !== undefined ? { tools: options.tools } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(ctx.globals.provider ? { provider: ctx.globals.provider } : {}),
  });
  return 0;
}

export async function runRemove(ctx: CliContext, name: string): Promise<number> {
  await removeMcpServer(runEnvFrom(ctx), name);
  return 0;
}

export async function runList(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const { config } = await loadConfig(ctx.paths.configFile);
  const items = listMcpServers(config, runEnvFrom(ctx));
  if (options.json) {
    ctx.print(JSON.stringify(items, null, 2));
    return 0;
  }
  if (!items.length)
    ctx.logger.info('No MCP servers were added by gatepass (`gatepass mcp add <name> <url>`).');
  for (const i of items) {
    ctx.print(`${i.name}\t${i.url}\tprovider=${i.provider}\ttools=${i.tools.join(',')}`);
    for (const w of i.wired) {
      const how = w.via === 'proxy' ? `through the proxy at ${w.url}` : 'headersHelper';
      ctx.print(`  ${w.tool}\t${w.file}\t${how}`);
    }
  }
  return 0;
}
