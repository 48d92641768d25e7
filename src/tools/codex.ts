/**
 * Codex CLI (token-helper mode): `~/.codex/config.toml` gets a `[model_providers.gatepass]` whose
 * `auth` runs `gatepass token` (refreshed every 5 minutes, allowed a whole login's time), selected
 * with `model_provider`. The
 * user's previous `model_provider` is recorded and restored on teardown.
 */
import { pickCodexModel } from './model-pick.js';
import { dirExists, onPath, pathJoin } from './platform.js';
import { tokenHelperArgs } from './self.js';
import type { ToolEnv, ToolModule } from './types.js';

export const CODEX_PROVIDER_ID = 'gatepass';

function configDir(env: ToolEnv): string {
  return env.env['CODEX_HOME'] || pathJoin(env, env.home, '.codex');
}

function codexModel(models: string[]): Array<{ path: string[]; value: string }> {
  const model = pickCodexModel(models);
  return model ? [{ path: ['model'], value: model }] : [];
}

export const codex: ToolModule = {
  id: 'codex',
  name: 'Codex CLI',
  mode: 'direct',
  configPath: (env) => pathJoin(env, configDir(env), 'config.toml'),
  detect: async (env) => (await dirExists(configDir(env))) || onPath(env, 'codex'),
  helper: (_env, p) => ({
    command: p.self.command,
    args: [...p.self.args, ...tokenHelperArgs(p.helperTtlMs)],
  }),
  files: (env, p) => [
    {
      file: pathJoin(env, configDir(env), 'config.toml'),
      format: 'toml',
      settings: [
        { path: ['model_provider'], value: CODEX_PROVIDER_ID },
        // Discovered models: a default model the gateway serves (the user's previous one comes back on teardown).
        ...codexModel(p.modelTiers ? p.models : []),
        {
          path: ['model_providers', CODEX_PROVIDER_ID],
          value: {
            name: 'gatepass',
            base_url: p.gatewayUrl,
            wire_api: 'responses',
            auth: {
              command: p.self.command,
              args: [...p.self.args, ...tokenHelperArgs(p.helperTtlMs)],
              refresh_interval_ms: p.helperTtlMs,
              // Codex kills the command after timeout_ms (default 5 s): a first sign-in needs longer.
              timeout_ms: p.helperTimeoutMs,
            },
          },
        },
      ],
    },
  ],
  // Codex (Rust) reads a custom CA only from its own environment (CODEX_CA_CERTIFICATE or
  // SSL_CERT_FILE), not from config.toml, and has no switch to skip verification: say so.
  manualSteps: (_env, p) => [
    ...(p.caFile
      ? [
          `Codex CLI takes a custom CA only from its environment: add \`export CODEX_CA_CERTIFICATE=${p.caFile}\` to your shell profile.`,
        ]
      : []),
    ...(p.tlsSkipVerify
      ? [
          'Codex CLI cannot skip TLS verification: it will reject the gateway unless it trusts its certificate.',
        ]
      : []),
  ],
  restart: 'start a new Codex session',
};
