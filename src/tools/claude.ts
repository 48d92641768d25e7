/**
 * Claude Code (token-helper mode): `~/.claude/settings.json` gets `apiKeyHelper` = a command line
 * running `gatepass token --min-valid 600`, `env.ANTHROPIC_BASE_URL` = the gateway, a 5-minute helper
 * TTL, and the TLS options (NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED) when configured.
 */

import { readFileSync } from 'node:fs';
import { type ParseError, parse as parseJsonc } from 'jsonc-parser';
import { otelSettings } from './claude-otel.js';
import type { KeySetting } from './edit/types.js';
import { pickTiers, TIERS } from './model-pick.js';
import { dirExists, onPath, pathJoin } from './platform.js';
import { selfCommandLine, tokenHelperArgs } from './self.js';
import type { ToolEnv, ToolModule } from './types.js';

/** ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL: the newest model of each family in `models`. */
export function tierSettings(models: string[]): KeySetting[] {
  const picked = pickTiers(models);
  return TIERS.filter((t) => picked[t]).map((t) => ({
    path: ['env', `ANTHROPIC_DEFAULT_${t.toUpperCase()}_MODEL`],
    value: picked[t]!,
  }));
}

/**
 * `--bedrock-compat`: a Bedrock-backed gateway rejects Anthropic's experimental beta headers, and
 * Claude Code's default model names are not Bedrock model ids, so each tier gets one from the list.
 */
export function bedrockSettings(models: string[]): KeySetting[] {
  return [{ path: ['env', 'CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS'], value: '1' }, ...tierSettings(models)];
}

function configDir(env: ToolEnv): string {
  return env.env['CLAUDE_CONFIG_DIR'] || pathJoin(env, env.home, '.claude');
}

/**
 * Claude Code 2.1.332 and later refuse a settings.json holding comments or trailing commas
 * ("Invalid or malformed JSON") and load none of it — gatepass' wiring included. gatepass keeps the
 * user's bytes (it never drops their comments), so it says so instead. Reads the file (sync, small).
 */
function strictJsonProblem(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: false, allowTrailingComma: true });
  if (errors.length) return undefined; // malformed: setup refuses it anyway, with its own error
  const strict: ParseError[] = [];
  parseJsonc(text, strict, { disallowComments: true, allowTrailingComma: false });
  return strict.length ? 'comments or trailing commas' : undefined;
}

export const claude: ToolModule = {
  id: 'claude',
  name: 'Claude Code',
  mode: 'direct',
  configPath: (env) => pathJoin(env, configDir(env), 'settings.json'),
  detect: async (env) => (await dirExists(configDir(env))) || onPath(env, 'claude'),
  helper: (env, p) => ({ shell: selfCommandLine(p.self, tokenHelperArgs(p.helperTtlMs), env.platform) }),
  files: (env, p) => [
    {
      file: pathJoin(env, configDir(env), 'settings.json'),
      format: 'json',
      settings: [
        {
          path: ['apiKeyHelper'],
          value: selfCommandLine(p.self, tokenHelperArgs(p.helperTtlMs), env.platform),
        },
        { path: ['env', 'ANTHROPIC_BASE_URL'], value: p.anthropicUrl },
        { path: ['env', 'CLAUDE_CODE_API_KEY_HELPER_TTL_MS'], value: String(p.helperTtlMs) },
        ...(p.bedrockCompat ? bedrockSettings(p.models) : p.modelTiers ? tierSettings(p.models) : []),
        // Claude Code is a Node program: it trusts an extra CA bundle through NODE_EXTRA_CA_CERTS,
        // and skips verification with NODE_TLS_REJECT_UNAUTHORIZED=0. Absent options are not
        // written, so a re-setup without them puts back what was there before gatepass.
        ...(p.caFile ? [{ path: ['env', 'NODE_EXTRA_CA_CERTS'], value: p.caFile }] : []),
        ...(p.tlsSkipVerify ? [{ path: ['env', 'NODE_TLS_REJECT_UNAUTHORIZED'], value: '0' }] : []),
        // setup --otel-endpoint: telemetry with identity headers (claude-otel.ts).
        ...otelSettings(p, env.platform),
      ],
    },
  ],
  // Claude Code prefers cloud-provider credentials, ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY from
  // its environment over apiKeyHelper: one of them set in the user's shell bypasses gatepass. And
  // settings.json's env wins over the shell's: a bundle the user already trusts through
  // NODE_EXTRA_CA_CERTS stops applying to Claude Code once --ca-file is written there.
  manualSteps: (env, p) => [
    ...[pathJoin(env, configDir(env), 'settings.json')].flatMap((file) => {
      const problem = strictJsonProblem(file);
      return problem
        ? [
            `Claude Code: ${file} holds ${problem}, which Claude Code 2.1.332 and later refuse ("Invalid or malformed JSON"), ignoring the whole file and gatepass' wiring with it; gatepass kept them: remove them.`,
          ]
        : [];
    }),
    ...['ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX']
      .filter((name) => env.env[name])
      .map(
        (name) =>
          `Claude Code: ${name} is set in your environment and takes precedence over gatepass' apiKeyHelper; unset it (and remove it from your shell profile) so Claude Code signs in through gatepass.`,
      ),
    ...(p.caFile && env.env['NODE_EXTRA_CA_CERTS'] && env.env['NODE_EXTRA_CA_CERTS'] !== p.caFile
      ? [
          `Claude Code: it will trust ${p.caFile} instead of the NODE_EXTRA_CA_CERTS bundle in your environment (${env.env['NODE_EXTRA_CA_CERTS']}); if it needs both, make one file holding both and pass it as --ca-file.`,
        ]
      : []),
  ],
  restart: 'start a new Claude Code session (running sessions keep their old settings)',
};
