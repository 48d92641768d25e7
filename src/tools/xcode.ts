/**
 * GitHub Copilot for Xcode (proxy mode, macOS only): `editorSettings.json` in its Application
 * Support folder gets the local proxy's OpenAI-style base URL and the local proxy key.
 */
import { dirExists, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule } from './types.js';

function appDir(env: ToolEnv): string {
  return pathJoin(env, env.home, 'Library', 'Application Support', 'GitHub Copilot for Xcode');
}

export const xcode: ToolModule = {
  id: 'xcode',
  name: 'GitHub Copilot for Xcode',
  mode: 'proxy',
  configPath: (env) => pathJoin(env, appDir(env), 'editorSettings.json'),
  detect: async (env) => env.platform === 'darwin' && dirExists(appDir(env)),
  files: (env, p) => [
    {
      file: pathJoin(env, appDir(env), 'editorSettings.json'),
      format: 'json',
      settings: [
        { path: ['openAIBaseURL'], value: `${p.proxyUrl}/v1` },
        { path: ['apiKey'], value: p.proxyKey, secret: true },
      ],
    },
  ],
  restart: 'quit and relaunch GitHub Copilot for Xcode (and Xcode), with `gatepass proxy` running',
};
