/**
 * Claude Code (token-helper mode): `~/.claude/settings.json` gets `apiKeyHelper` = a command line
 * running `gatepass token`, `env.ANTHROPIC_BASE_URL` = the gateway, and a 5-minute helper TTL.
 */
import { dirExists, onPath, pathJoin } from './platform.js';
import { selfCommandLine } from './self.js';
import type { ToolEnv, ToolModule } from './types.js';

function configDir(env: ToolEnv): string {
  return env.env['CLAUDE_CONFIG_DIR'] || pathJoin(env, env.home, '.claude');
}

export const claude: ToolModule = {
  id: 'claude',
  name: 'Claude Code',
  mode: 'direct',
  configPath: (env) => pathJoin(env, configDir(env), 'settings.json'),
  detect: async (env) => (await dirExists(configDir(env))) || onPath(env, 'claude'),
  files: (env, p) => [
    {
      file: pathJoin(env, configDir(env), 'settings.json'),
      format: 'json',
      settings: [
        { path: ['apiKeyHelper'], value: selfCommandLine(p.self, ['token'], env.platform) },
        { path: ['env', 'ANTHROPIC_BASE_URL'], value: p.gatewayUrl },
        { path: ['env', 'CLAUDE_CODE_API_KEY_HELPER_TTL_MS'], value: String(p.helperTtlMs) },
      ],
    },
  ],
  restart: 'start a new Claude Code session (running sessions keep their old settings)',
};
