import type { Command } from 'commander';
import { stringify } from 'yaml';
import { applyAssignments, type FieldAssignment, parseAssignments, unsetFields } from '../../config/edit.js';
import {
  DEFAULT_CALLBACK_PORT,
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_PROXY_PORT,
  effectiveScopes,
  type GatepassConfig,
  isProviderConfigured,
  type Provider,
} from '../../config/schema.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { FIELDS } from '../../config/validate.js';
import { UsageError } from '../../errors.js';
import { warnSkipVerify } from '../../net/tls.js';
import { redact } from '../../redact.js';
import type { CliContext } from '../context.js';

type SetOptions = Record<string, string | boolean | undefined>;

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export async function runSet(ctx: CliContext, keyValues: string[], options: SetOptions): Promise<number> {
  if (keyValues.length % 2 !== 0) {
    throw new UsageError(`expected KEY VALUE pairs, got an odd number of arguments (${keyValues.length})`, {
      hint: 'e.g. `gatepass config set oidc.issuer https://sso.example.com`, or use the flags',
    });
  }
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < keyValues.length; i += 2) pairs.push([keyValues[i]!, keyValues[i + 1]!]);
  for (const f of FIELDS) {
    const v = options[camel(f.flag)];
    if (v !== undefined) pairs.push([f.key, v === true ? 'true' : String(v)]);
  }
  if (pairs.length === 0) {
    throw new UsageError('nothing to set', {
      hint: 'pass flags such as --gateway-url, or KEY VALUE pairs (see --help)',
    });
  }
  const assignments: FieldAssignment[] = parseAssignments(pairs);
  const file = ctx.paths.configFile;
  let defaultBefore = '';
  const config = await updateConfig(file, (cfg) => {
    defaultBefore = cfg.default_provider;
    applyAssignments(cfg, ctx.globals.provider ?? cfg.default_provider, assignments);
  });
  const name = ctx.globals.provider ?? config.default_provider;
  ctx.logger.info(`Updated ${file}`);
  if (
    config.default_provider !== defaultBefore &&
    !assignments.some((a) => a.spec.key === 'default_provider')
  ) {
    ctx.logger.info(`Provider "${name}" is the default provider (the first one configured).`);
  }
  if (assignments.some((a) => a.spec.key === 'tls.skip_verify' && a.value === true)) {
    warnSkipVerify(ctx.stderr, `provider "${name}"`);
  }
  const provider = config.providers[name];
  if (provider && !isProviderConfigured(provider)) {
    const missing =
      provider.type === 'oidc'
        ? ['gateway_url', 'oidc.issuer', 'oidc.client_id'].filter((k) => !readKey(provider, k))
        : ['gateway_url', 'auth.token_command'].filter((k) => !readKey(provider, k));
    ctx.logger.info(`Provider "${name}" still needs: ${missing.join(', ')}`);
  }
  return 0;
}

function readKey(provider: Provider, key: string): unknown {
  let cur: unknown = provider;
  for (const p of key.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

export async function runUnset(ctx: CliContext, keys: string[], options: { all?: boolean }): Promise<number> {
  if (!options.all && keys.length === 0) {
    throw new UsageError('name the keys to remove, or --all to remove the whole provider');
  }
  if (options.all && keys.length)
    throw new UsageError('--all removes the whole provider; do not also name keys');
  const file = ctx.paths.configFile;
  await updateConfig(
    file,
    (cfg) => {
      const name = ctx.globals.provider ?? cfg.default_provider;
      if (options.all && !cfg.providers[name]) {
        throw new UsageError(`there is no provider named "${name}"`);
      }
      unsetFields(cfg, name, keys, options.all);
    },
    { validation: 'partial' },
  );
  ctx.logger.info(`Updated ${file}`);
  return 0;
}

/** A view of the config for display: effective defaults filled in, never a secret (there are none). */
export function describeConfig(config: GatepassConfig): Record<string, unknown> {
  const providers: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(config.providers)) {
    const base = {
      type: p.type,
      gateway_url: p.gateway_url ?? null,
      configured: isProviderConfigured(p),
      ...(p.api_type ? { api_type: p.api_type } : {}),
      ...(p.chat_completions_path ? { chat_completions_path: p.chat_completions_path } : {}),
      ...(p.tls && Object.keys(p.tls).length ? { tls: p.tls } : {}),
      // Written by setup (or `config set`): shown when set, so `config show` lists every key.
      ...(p.models ? { models: p.models } : {}),
      ...(p.bedrock_compat !== undefined ? { bedrock_compat: p.bedrock_compat } : {}),
      ...(p.anthropic_path_prefix !== undefined ? { anthropic_path_prefix: p.anthropic_path_prefix } : {}),
      ...(p.openai_path_prefix !== undefined ? { openai_path_prefix: p.openai_path_prefix } : {}),
    };
    providers[name] =
      p.type === 'oidc'
        ? {
            ...base,
            oidc: {
              issuer: p.oidc.issuer ?? null,
              client_id: p.oidc.client_id ?? null,
              audience: p.oidc.audience ?? null,
              scopes: effectiveScopes(p),
              callback_port: p.oidc.callback_port ?? DEFAULT_CALLBACK_PORT,
            },
            ...(p.token_ref ? { token_ref: p.token_ref } : {}),
          }
        : {
            ...base,
            auth: {
              ...p.auth,
              // A command line may embed a credential (`curl -H "Authorization: Bearer …"`).
              ...(p.auth.token_command ? { token_command: redact(p.auth.token_command) } : {}),
              ...(p.auth.refresh_command ? { refresh_command: redact(p.auth.refresh_command) } : {}),
              timeout: p.auth.timeout ?? DEFAULT_COMMAND_TIMEOUT_S,
            },
          };
  }
  return {
    default_provider: config.default_provider,
    providers,
    proxy: { listen_port: config.proxy.listen_port ?? DEFAULT_PROXY_PORT },
    configured_tools: config.configured_tools,
  };
}

export async function runShow(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const loaded = await loadConfig(ctx.paths.configFile);
  const view = describeConfig(loaded.config);
  // `--provider NAME` narrows the view to that provider (the rest of the file is shown as is).
  const only = ctx.globals.provider;
  if (only !== undefined) {
    const providers = view['providers'] as Record<string, unknown>;
    if (!(only in providers)) {
      const known = Object.keys(providers);
      throw new UsageError(
        `there is no provider named "${only}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    view['providers'] = { [only]: providers[only] };
  }
  if (options.json) {
    ctx.print(JSON.stringify({ config_file: loaded.file, exists: loaded.exists, ...view }, null, 2));
    return 0;
  }
  ctx.print(`Config file: ${loaded.file}${loaded.exists ? '' : ' (not created yet)'}`);
  const names = Object.keys(loaded.config.providers);
  if (names.length === 0) {
    ctx.print('No provider configured yet.');
    ctx.print(
      'Run `gatepass config set --gateway-url URL --issuer URL --client-id ID`, or `gatepass setup`.',
    );
  }
  ctx.print(stringify(view, { lineWidth: 0 }).trimEnd());
  return 0;
}

export async function runPath(ctx: CliContext): Promise<number> {
  ctx.print(ctx.paths.configFile);
  return 0;
}

export type { Command };
