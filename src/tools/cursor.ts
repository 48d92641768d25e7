/**
 * Cursor (manual): its custom OpenAI base URL is called from Cursor's servers, not from the laptop,
 * so a loopback proxy cannot be reached; gatepass says so and prints what would be needed instead
 * of writing settings that cannot work.
 */
import { appConfigDir, dirExists, onPath, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule } from './types.js';

function userDir(env: ToolEnv): string {
  return pathJoin(env, appConfigDir(env), 'Cursor', 'User');
}

export const cursor: ToolModule = {
  id: 'cursor',
  name: 'Cursor',
  mode: 'manual',
  configPath: (env) => pathJoin(env, userDir(env), 'settings.json'),
  detect: async (env) => (await dirExists(userDir(env))) || onPath(env, 'cursor'),
  files: () => [],
  manualSteps: (_env, p) => [
    "Cursor: not configured automatically. Cursor sends requests for a custom OpenAI base URL from Cursor's servers, which cannot reach gatepass' loopback proxy on this machine.",
    `  If your gateway is reachable from the internet and accepts an API key, open Cursor Settings > Models > OpenAI API Key, enable "Override OpenAI Base URL", enter ${p.gatewayUrl} and a gateway key.`,
    '  Otherwise use Claude Code, Codex or the other tools gatepass wires.',
  ],
  restart: 'restart Cursor',
};
