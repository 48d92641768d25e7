/**
 * Setup step 2, detect: the tools to wire — those named by `--tools` (each must be installed), or
 * every supported tool found on this machine.
 */
import type { ToolModule } from '../tools/index.js';
import { TOOLS } from '../tools/index.js';
import { notInstalled, parseToolList, type RunEnv, toolEnv } from './common.js';

export async function detectTools(run: RunEnv, list: string[] | undefined): Promise<ToolModule[]> {
  const tenv = toolEnv(run);
  const requested = parseToolList(list);
  const tools: ToolModule[] = [];
  for (const tool of requested ?? TOOLS) {
    const installed = await tool.detect(tenv);
    if (installed) tools.push(tool);
    else if (requested) throw notInstalled(tool, tenv);
  }
  return tools;
}
