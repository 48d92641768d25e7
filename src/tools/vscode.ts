/**
 * VS Code and VS Code Insiders (proxy mode): GitHub Copilot Chat's "bring your own key" Custom
 * Endpoint provider. gatepass owns one entry — `"name": "gatepass"` — of the JSON array in
 * `chatLanguageModels.json`, the file beside the user `settings.json` (Linux `~/.config/Code/User/`,
 * macOS `~/Library/Application Support/Code/User/`, Windows `%APPDATA%\Code\User\`; `Code - Insiders`
 * for Insiders):
 *
 *   { "name": "gatepass", "vendor": "customendpoint", "apiKey": <local proxy key>,
 *     "apiType": "chat-completions" | "responses" | "messages",
 *     "models": [{ "id", "name", "url": <loopback proxy>/v1/…, "toolCalling", "vision",
 *                  "maxInputTokens", "maxOutputTokens", "requestHeaders": { "x-api-key": <local key> } }] }
 *
 * Reports disagree on whether Copilot sends a literal `apiKey` (the UI stores keys in VS Code's
 * secret storage and writes `${input:chat.lm.secret.…}` references, which another program cannot
 * fill), so each model also carries the key in `requestHeaders` as `x-api-key`: Copilot adds custom
 * headers after its own `Authorization` and refuses only a fixed list (`authorization`, `api-key`,
 * hop-by-hop and routing headers; microsoft/vscode-copilot-chat 0.42 @31acd00a,
 * src/extension/byok/node/openAIEndpoint.ts), and the proxy accepts the key from any of its slots.
 *
 * Every other entry and comment of the file is kept byte for byte; teardown removes only this entry
 * (and the file, when gatepass created it). The entry holds the local proxy key, so it is a secret
 * setting: recorded by hash, the file created 0600.
 *
 * Earlier gatepass versions wrote `github.copilot.advanced.serverUrl` / `.apiKey` into settings.json,
 * keys current Copilot Chat does not read for custom models: that file is listed as retired, so a
 * setup over such a record first gives settings.json back exactly as it was.
 *
 * Sources (format): vscode-docs docs/copilot/customization/language-models.md (custom endpoint,
 * file location); microsoft/vscode#316916 (the `customendpoint` vendor, `apiType` values, a model's
 * full `url`, a literal `apiKey` in the file; the UI instead writes `${input:chat.lm.secret.…}`
 * references to VS Code's secret storage, which another program cannot fill); coder/coder#26136
 * (Stable since VS Code 1.122). microsoft/vscode-copilot-chat 0.42 (src/extension/byok) shows the
 * legacy `customoai` provider and that the `advanced.serverUrl/apiKey` keys are not read.
 */
import { appConfigDir, dirExists, onPath, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule, WireParams } from './types.js';

export const VSCODE_ENTRY_NAME = 'gatepass';
export type VscodeApiType = 'chat-completions' | 'responses' | 'messages';

/** Token limits written for each model (Copilot's defaults for custom endpoints). */
export const VSCODE_MAX_INPUT_TOKENS = 128_000;
export const VSCODE_MAX_OUTPUT_TOKENS = 16_000;

const API_PATH: Record<VscodeApiType, string> = {
  'chat-completions': '/v1/chat/completions',
  responses: '/v1/responses',
  messages: '/v1/messages',
};

/**
 * The Custom Endpoint API type for the gateway's configured dialect (`api_type`): Anthropic
 * Messages for `anthropic`/`messages`, OpenAI Responses for `responses`, else Chat Completions.
 */
export function vscodeApiType(gatewayApi: string | undefined): VscodeApiType {
  const api = (gatewayApi ?? '').toLowerCase();
  if (/anthropic|messages/.test(api)) return 'messages';
  if (/responses/.test(api)) return 'responses';
  return 'chat-completions';
}

/** gatepass' entry of `chatLanguageModels.json`. */
export function vscodeEntry(p: WireParams): Record<string, unknown> {
  const apiType = vscodeApiType(p.gatewayApi);
  return {
    name: VSCODE_ENTRY_NAME,
    vendor: 'customendpoint',
    apiKey: p.proxyKey,
    apiType,
    models: p.models.map((id) => ({
      id,
      name: `${id} (gatepass)`,
      url: `${p.proxyUrl}${API_PATH[apiType]}`,
      toolCalling: true,
      vision: false,
      maxInputTokens: VSCODE_MAX_INPUT_TOKENS,
      maxOutputTokens: VSCODE_MAX_OUTPUT_TOKENS,
      // The proxy takes its key from any of its key slots and strips them all before forwarding.
      requestHeaders: { 'x-api-key': p.proxyKey },
    })),
  };
}

function makeVscode(id: string, name: string, dirName: string, command: string): ToolModule {
  const userDir = (env: ToolEnv) => pathJoin(env, appConfigDir(env), dirName, 'User');
  const modelsFile = (env: ToolEnv) => pathJoin(env, userDir(env), 'chatLanguageModels.json');
  return {
    id,
    name,
    mode: 'proxy',
    configPath: modelsFile,
    detect: async (env) => (await dirExists(userDir(env))) || onPath(env, command),
    files: (env, p) => [
      // Retired: only what an earlier gatepass wrote there is undone.
      { file: pathJoin(env, userDir(env), 'settings.json'), format: 'json', settings: [], retire: true },
      {
        file: modelsFile(env),
        format: 'json',
        settings: [{ path: [], value: vscodeEntry(p), element: { key: 'name' }, secret: true }],
      },
    ],
    manualSteps: (_env, p) => [
      `${name}: the models appear in Copilot Chat's model picker under "gatepass" (Custom Endpoint, bring your own key). Your Copilot plan or organization policy must allow bring-your-own-key models: Copilot Business and Enterprise admins can turn it off.`,
      ...(p.models.length
        ? []
        : [
            `${name}: no models given, so the "gatepass" entry lists none: run setup again with --models <id,…> (the models your gateway serves).`,
          ]),
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
