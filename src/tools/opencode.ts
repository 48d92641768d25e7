/**
 * OpenCode (proxy mode): a `gatepass` provider in `opencode.json` (OpenAI-compatible, through the
 * local proxy, with the local proxy key as its API key).
 */
import { dirExists, onPath, pathJoin, xdgConfigDir } from './platform.js';
import type { ToolEnv, ToolModule } from './types.js';

function configDir(env: ToolEnv): string {
  return pathJoin(env, xdgConfigDir(env), 'opencode');
}

function configFile(env: ToolEnv): string {
  return pathJoin(env, configDir(env), 'opencode.json');
}

export const opencode: ToolModule = {
  id: 'opencode',
  name: 'OpenCode',
  mode: 'proxy',
  configPath: configFile,
  detect: async (env) => (await dirExists(configDir(env))) || onPath(env, 'opencode'),
  files: (env, p) => [
    {
      file: configFile(env),
      format: 'json',
      settings: [
        { path: ['provider', 'gatepass', 'npm'], value: '@ai-sdk/openai-compatible' },
        { path: ['provider', 'gatepass', 'name'], value: 'gatepass' },
        { path: ['provider', 'gatepass', 'options', 'baseURL'], value: `${p.proxyUrl}/v1` },
        { path: ['provider', 'gatepass', 'options', 'apiKey'], value: p.proxyKey, secret: true },
        ...p.models.map((m) => ({ path: ['provider', 'gatepass', 'models', m], value: { name: m } })),
      ],
    },
  ],
  manualSteps: (_env, p) =>
    p.models.length
      ? []
      : [
          'OpenCode: add the models your gateway serves under provider.gatepass.models in opencode.json, then pick one with /models.',
        ],
  restart: 'restart OpenCode, with `gatepass proxy` running',
};
