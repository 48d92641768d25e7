/**
 * GitHub Copilot for Xcode (proxy mode, macOS): a custom "bring your own key" provider named
 * `gatepass` in the Copilot language server's BYOK store, `byok.json` in its config directory
 * (`$XDG_CONFIG_HOME/github-copilot` when that is absolute, else `~/.config/github-copilot`). The
 * app has no settings file of its own for this: its BYOK screen sends `copilot/byok/*` requests to
 * the language server, which keeps everything in that one JSON object, keyed per provider:
 *
 *   "gatepass-api-key":         the API key (here the local proxy key; a secret setting)
 *   "gatepass-provider-config": { "groupName": "gatepass", "apiType": "chatCompletions" | "responses" | "messages" }
 *   "gatepass-models-config":   { "<model>": { "deploymentUrl": <loopback proxy>/v1, "isRegistered": true,
 *                                 "isCustomModel": true, "modelCapabilities": { "name", "maxInputTokens",
 *                                 "maxOutputTokens", "toolCalling", "vision" } } }
 *
 * Any provider name that is not built in (Azure, OpenAI, Gemini, Groq, OpenRouter, Anthropic,
 * Ollama) is a custom endpoint; its `deploymentUrl` is turned into an SDK base URL by dropping a
 * trailing `/chat/completions`, `/responses` or `/messages` and keeping (OpenAI) or dropping
 * (Messages) the `/vN` — so `<proxy>/v1` serves all three API types. Other keys of the file are
 * never touched; teardown removes only gatepass' keys (and the file, when gatepass created it).
 * Earlier gatepass versions wrote an `editorSettings.json` the app does not have: listed as retired,
 * so setup over such a record gives it back exactly as it was.
 *
 * Source: the published @github/copilot-language-server 1.539.0, dist/main.js — class
 * `BYOKPersistence` (key names, `persistenceManager.read/update("byok", key)`),
 * `FilePersistenceManager` (`<dir>/byok.json`, one JSON object, written 0600 in a 0700 dir),
 * `getXdgConfigPath`, the `copilot/byok/saveCustomProviderConfig` and `saveModel` handlers (field
 * names, apiType literals), `isCustomEndpointProvider`, `resolveCustomEndpointBaseUrl` and
 * `buildCustomEndpointProviderConfig` (how `deploymentUrl` + `apiType` become requests), and
 * `isBYOKEnabled` (BYOK only for individual accounts or when the client enables it). Whether a
 * given Copilot for Xcode release ships a language server this new is not checked here: the app
 * (0.47.0) exposes only the built-in providers in its UI.
 */
import { dirExists, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule, WireParams } from './types.js';
import { VSCODE_MAX_INPUT_TOKENS, VSCODE_MAX_OUTPUT_TOKENS, vscodeApiType } from './vscode.js';

export const XCODE_PROVIDER = 'gatepass';

const LS_API_TYPE = {
  'chat-completions': 'chatCompletions',
  responses: 'responses',
  messages: 'messages',
} as const;

function appDir(env: ToolEnv): string {
  return pathJoin(env, env.home, 'Library', 'Application Support', 'GitHub Copilot for Xcode');
}

/** The Copilot language server's config directory (its getXdgConfigPath, on macOS and Linux). */
export function copilotConfigDir(env: ToolEnv): string {
  const xdg = env.env['XDG_CONFIG_HOME'];
  return xdg?.startsWith('/')
    ? pathJoin(env, xdg, 'github-copilot')
    : pathJoin(env, env.home, '.config', 'github-copilot');
}

export function byokFile(env: ToolEnv): string {
  return pathJoin(env, copilotConfigDir(env), 'byok.json');
}

/** The byok.json settings for gatepass' custom provider. */
export function xcodeSettings(p: WireParams) {
  const apiType = LS_API_TYPE[vscodeApiType(p.gatewayApi)];
  const P = XCODE_PROVIDER;
  return [
    { path: [`${P}-api-key`], value: p.proxyKey, secret: true },
    { path: [`${P}-provider-config`], value: { groupName: P, apiType } },
    ...p.models.map((m) => ({
      path: [`${P}-models-config`, m],
      value: {
        deploymentUrl: `${p.proxyUrl}/v1`,
        isRegistered: true,
        isCustomModel: true,
        modelCapabilities: {
          name: `${m} (gatepass)`,
          maxInputTokens: VSCODE_MAX_INPUT_TOKENS,
          maxOutputTokens: VSCODE_MAX_OUTPUT_TOKENS,
          toolCalling: true,
          vision: false,
        },
      },
    })),
  ];
}

export const xcode: ToolModule = {
  id: 'xcode',
  name: 'GitHub Copilot for Xcode',
  mode: 'proxy',
  configPath: byokFile,
  detect: async (env) =>
    env.platform === 'darwin' &&
    ((await dirExists(appDir(env))) || (await dirExists('/Applications/GitHub Copilot for Xcode.app'))),
  files: (env, p) => [
    // Retired: earlier gatepass versions wrote openAIBaseURL/apiKey there, which the app never reads.
    {
      file: pathJoin(env, appDir(env), 'editorSettings.json'),
      format: 'json',
      settings: [],
      retire: true,
    },
    { file: byokFile(env), format: 'json', settings: xcodeSettings(p) },
  ],
  manualSteps: (_env, p) => [
    'GitHub Copilot for Xcode: setup puts the custom provider "gatepass" into the Copilot language server\'s byok.json (the format of @github/copilot-language-server 1.539.0); older app releases may not list custom providers. Your Copilot plan or organization policy must allow bring-your-own-key models.',
    ...(p.models.length
      ? []
      : [
          'GitHub Copilot for Xcode: no models given, so the "gatepass" provider lists none: run setup again with --models <id,…>.',
        ]),
  ],
  restart: 'quit and relaunch GitHub Copilot for Xcode (and Xcode), with `gatepass proxy` running',
};
