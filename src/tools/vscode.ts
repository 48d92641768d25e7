/**
 * VS Code and VS Code Insiders (proxy mode): the user `settings.json` (JSONC) points GitHub
 * Copilot's advanced server URL at the local proxy, with the local proxy key.
 */
import { appConfigDir, dirExists, onPath, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule } from './types.js';

function makeVscode(id: string, name: string, dirName: string, command: string): ToolModule {
  const userDir = (env: ToolEnv) => pathJoin(env, appConfigDir(env), dirName, 'User');
  return {
    id,
    name,
    mode: 'proxy',
    configPath: (env) => pathJoin(env, userDir(env), 'settings.json'),
    detect: async (env) => (await dirExists(userDir(env))) || onPath(env, command),
    files: (env, p) => [
      {
        file: pathJoin(env, userDir(env), 'settings.json'),
        format: 'json',
        settings: [
          { path: ['github.copilot.advanced', 'serverUrl'], value: p.proxyUrl },
          { path: ['github.copilot.advanced', 'apiKey'], value: p.proxyKey, secret: true },
        ],
      },
    ],
    restart: `reload ${name} windows (Developer: Reload Window), with \`gatepass proxy\` running`,
  };
}

export const vscode = makeVscode('vscode', 'VS Code', 'Code', 'code');
export const vscodeInsiders = makeVscode(
  'vscode-insiders',
  'VS Code Insiders',
  'Code - Insiders',
  'code-insiders',
);
