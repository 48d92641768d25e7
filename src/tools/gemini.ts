/**
 * Gemini CLI (proxy mode; it has no token-command feature): `~/.gemini/.env` points
 * `GOOGLE_GEMINI_BASE_URL` at the local proxy with the local proxy key as `GEMINI_API_KEY`, and
 * `~/.gemini/settings.json` sets `security.auth.selectedType` = `gemini-api-key`. Why not the
 * `gateway` auth type that GOOGLE_GEMINI_BASE_URL implies when no type is selected: Gemini CLI 0.61
 * answers it with "Invalid auth method selected." (exit 41) outside its ACP mode, also when set
 * explicitly, while `gemini-api-key` sends its requests to GOOGLE_GEMINI_BASE_URL just the same.
 * A selected type also wins over the user's own (say `oauth-personal`), which would ignore the URL.
 * Gemini CLI 0.61 loads `~/.gemini/.env` only in trusted folders (folder trust is on by default).
 */
import { dirExists, onPath, pathJoin } from './platform.js';
import type { ToolEnv, ToolModule } from './types.js';

/** `~/.gemini`, where GEMINI_CLI_HOME (Gemini CLI's own override of the home directory) applies. */
function configDir(env: ToolEnv): string {
  return pathJoin(env, env.env['GEMINI_CLI_HOME'] || env.home, '.gemini');
}

export const gemini: ToolModule = {
  id: 'gemini',
  name: 'Gemini CLI',
  mode: 'proxy',
  configPath: (env) => pathJoin(env, configDir(env), '.env'),
  detect: async (env) => (await dirExists(configDir(env))) || onPath(env, 'gemini'),
  files: (env, p) => [
    {
      file: pathJoin(env, configDir(env), '.env'),
      format: 'dotenv',
      settings: [
        { path: ['GOOGLE_GEMINI_BASE_URL'], value: p.proxyUrl },
        { path: ['GEMINI_API_KEY'], value: p.proxyKey, secret: true },
      ],
    },
    {
      file: pathJoin(env, configDir(env), 'settings.json'),
      format: 'json',
      settings: [{ path: ['security', 'auth', 'selectedType'], value: 'gemini-api-key' }],
    },
  ],
  // Gemini CLI loads ONE .env: the first found walking up from the working directory (a project's
  // .gemini/.env or .env), else ~/.gemini/.env; and a variable already in its environment wins.
  manualSteps: (env) => [
    'Gemini CLI: it reads ~/.gemini/.env only in folders you trusted (it asks on first run, or see /permissions); in an untrusted folder it ignores the gateway settings.',
    "Gemini CLI: it loads only the first .env it finds from the working directory upward, so a project's own .env (or .gemini/.env) hides ~/.gemini/.env; add GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY there too, or work from folders without one.",
    ...['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL']
      .filter((name) => env.env[name])
      .map(
        (name) =>
          `Gemini CLI: ${name} is set in your environment and overrides ~/.gemini/.env; unset it (and remove it from your shell profile) so Gemini CLI goes through gatepass' proxy.`,
      ),
  ],
  restart: 'start a new Gemini CLI session, with `gatepass proxy` running',
};
