import type { Command } from 'commander';
import { Document, isMap, type Node } from 'yaml';
import { clientSecretKey } from '../../auth/oidc/client-secret.js';
import { applyAssignments, type FieldAssignment, parseAssignments, unsetFields } from '../../config/edit.js';
import { isManagedPath } from '../../config/managed.js';
import {
  DEFAULT_CALLBACK_PORT,
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_PROXY_PORT,
  effectiveScopes,
  type GatepassConfig,
  isProviderConfigured,
  type Provider,
} from '../../config/schema.js';
import { type LoadedConfig, loadConfig, updateConfig } from '../../config/store.js';
import { FIELDS } from '../../config/validate.js';
import { UsageError } from '../../errors.js';
import { displayProxy } from '../../net/egress.js';
import { warnSkipVerify } from '../../net/tls.js';
import { redact, registerSecret } from '../../redact.js';
import { openSecretStore } from '../../secrets/index.js';
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
    if (f.kind === 'secret_ref') continue; // --client-secret-stdin: handled below, never a value
    if (v !== undefined) pairs.push([f.key, v === true ? 'true' : String(v)]);
  }
  const clientSecret = options['clientSecretStdin'] ? await readClientSecret(ctx) : undefined;
  if (pairs.length === 0 && clientSecret === undefined) {
    throw new UsageError('nothing to set', {
      hint: 'pass flags such as --gateway-url, or KEY VALUE pairs (see --help)',
    });
  }
  const assignments: FieldAssignment[] = parseAssignments(pairs);
  const file = ctx.paths.configFile;
  let defaultBefore = '';
  const config = await updateConfig(file, async (cfg) => {
    defaultBefore = cfg.default_provider;
    const target = ctx.globals.provider ?? cfg.default_provider;
    applyAssignments(cfg, target, assignments);
    if (clientSecret !== undefined) await storeClientSecret(ctx, cfg, target, clientSecret);
  });
  const name = ctx.globals.provider ?? config.default_provider;
  ctx.logger.info(`Updated ${file}`);
  const loaded = await loadConfig(file);
  for (const a of assignments) {
    const where = a.spec.scope === 'global' ? a.spec.key : `providers.${name}.${a.spec.key}`;
    if (isManagedPath(loaded.managed, where)) {
      ctx.logger.warn(
        `${a.spec.key} is also set by the managed config ${loaded.managed!.file}, whose value wins over yours`,
      );
    }
  }
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

/**
 * The client secret from stdin: piped (`printf %s "$S" | gatepass config set --client-secret-stdin`)
 * or typed at a prompt without echo. Never from argv, where other local users could read it.
 */
async function readClientSecret(ctx: CliContext): Promise<string> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  let text = '';
  if (stdin.isTTY && typeof stdin.setRawMode === 'function') {
    ctx.stderr.write('Client secret (not shown): ');
    stdin.setRawMode(true);
    try {
      text = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const onData = (d: Buffer) => {
          for (const ch of d.toString('utf8')) {
            if (ch === '\r' || ch === '\n') return finish(() => resolve(buf));
            if (ch === '\u0003') return finish(() => reject(new UsageError('cancelled')));
            if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
            else buf += ch;
          }
        };
        const finish = (then: () => void) => {
          stdin.off('data', onData);
          stdin.pause();
          then();
        };
        stdin.on('data', onData);
        stdin.resume();
      });
    } finally {
      stdin.setRawMode(false);
      ctx.stderr.write('\n');
    }
  } else {
    for await (const chunk of ctx.stdin) text += chunk.toString();
    text = text.replace(/\r?\n$/, '');
  }
  if (!text)
    throw new UsageError('no client secret on stdin', {
      hint: 'pipe it in: printf %s "$SECRET" | gatepass config set --client-secret-stdin',
    });
  if (/[\u0000-\u001f\u007f]/.test(text) || text.length > 4096) {
    throw new UsageError('the client secret must be a single line of at most 4096 characters');
  }
  registerSecret(text);
  return text;
}

/** Keep the secret in the secret store and its key (never the secret) in the provider's config. */
async function storeClientSecret(
  ctx: CliContext,
  cfg: GatepassConfig,
  name: string,
  secret: string,
): Promise<void> {
  const p = cfg.providers[name];
  if (p?.type !== 'oidc' || !p.oidc.issuer || !p.oidc.client_id) {
    throw new UsageError(`--client-secret-stdin needs an OIDC provider with an issuer and a client id`, {
      hint: 'set --issuer and --client-id first, or in the same command',
    });
  }
  const key = clientSecretKey(p.oidc.issuer, p.oidc.client_id);
  const secrets = await openSecretStore({ paths: ctx.paths, env: ctx.env, logger: ctx.logger });
  await secrets.set(key, secret);
  p.oidc.client_secret = key;
}

/** Delete the provider's client secret from the secret store (config unset oidc.client_secret / --all). */
async function deleteClientSecret(ctx: CliContext, key: string | undefined): Promise<void> {
  if (!key) return;
  const secrets = await openSecretStore({ paths: ctx.paths, env: ctx.env, logger: ctx.logger });
  await secrets.delete(key).catch((err: unknown) => {
    ctx.logger.warn(`could not delete the client secret ${key}: ${(err as Error).message}`);
  });
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
  let secretKey: string | undefined;
  await updateConfig(
    file,
    (cfg) => {
      const name = ctx.globals.provider ?? cfg.default_provider;
      if (options.all && !cfg.providers[name]) {
        throw new UsageError(`there is no provider named "${name}"`);
      }
      const p = cfg.providers[name];
      const before = p?.type === 'oidc' ? p.oidc.client_secret : undefined;
      unsetFields(cfg, name, keys, options.all);
      const after = cfg.providers[name];
      if (before && (after?.type !== 'oidc' || !after.oidc.client_secret)) secretKey = before;
    },
    { validation: 'partial' },
  );
  if (secretKey) {
    // Still used by another provider (same issuer and client id): keep it.
    const cfgAfter = (await loadConfig(file)).config;
    const shared = Object.values(cfgAfter.providers).some(
      (p) => p.type === 'oidc' && p.oidc.client_secret === secretKey,
    );
    if (!shared) await deleteClientSecret(ctx, secretKey);
  }
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
      // A proxy URL may carry credentials: shown masked.
      ...(p.network && Object.keys(p.network).length
        ? {
            network: {
              ...p.network,
              ...(p.network.proxy ? { proxy: displayProxy(p.network.proxy) } : {}),
            },
          }
        : {}),
      // Written by setup (or `config set`): shown when set, so `config show` lists every key.
      ...(p.models ? { models: p.models } : {}),
      ...(p.bedrock_compat !== undefined ? { bedrock_compat: p.bedrock_compat } : {}),
      ...(p.anthropic_path_prefix !== undefined ? { anthropic_path_prefix: p.anthropic_path_prefix } : {}),
      ...(p.openai_path_prefix !== undefined ? { openai_path_prefix: p.openai_path_prefix } : {}),
      ...(p.mcp && Object.keys(p.mcp).length ? { mcp: p.mcp } : {}),
      ...(p.otel && Object.keys(p.otel).length ? { otel: p.otel } : {}),
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
              ...(p.oidc.redirect_host ? { redirect_host: p.oidc.redirect_host } : {}),
              ...(p.oidc.auth_params ? { auth_params: p.oidc.auth_params } : {}),
              ...(p.oidc.client_secret
                ? { client_secret: `stored in the secret store (${p.oidc.client_secret})` }
                : {}),
              ...(p.oidc.token ? { token: p.oidc.token } : {}),
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
  const sources = valueSources(loaded, view);
  if (options.json) {
    const managed = { managed_config: loaded.managed?.file ?? null, sources };
    ctx.print(
      JSON.stringify({ config_file: loaded.file, exists: loaded.exists, ...managed, ...view }, null, 2),
    );
    return 0;
  }
  ctx.print(`Config file: ${loaded.file}${loaded.exists ? '' : ' (not created yet)'}`);
  if (loaded.managed) {
    ctx.print(`Managed config: ${loaded.managed.file} (values marked "# managed" come from it and win)`);
  }
  const names = Object.keys(loaded.config.providers);
  if (names.length === 0) {
    ctx.print('No provider configured yet.');
    ctx.print(
      'Run `gatepass config set --gateway-url URL --issuer URL --client-id ID`, or `gatepass setup`.',
    );
  }
  const doc = new Document(view);
  for (const [key, from] of Object.entries(sources)) {
    if (from !== 'managed') continue;
    const node = doc.getIn(key.split('.'), true) as Node | undefined;
    if (node && !isMap(node)) node.comment = ' managed';
  }
  ctx.print(doc.toString({ lineWidth: 0 }).trimEnd());
  return 0;
}

/**
 * Where each shown value comes from, by dotted path: `managed` (the fleet-managed file), `user`
 * (the user's file) or `default` (not set: gatepass' default shown).
 */
function valueSources(loaded: LoadedConfig, view: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (node: unknown, stored: unknown, prefix: string[]): void => {
    if (node && typeof node === 'object' && !Array.isArray(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (prefix.length === 2 && prefix[0] === 'providers' && k === 'configured') continue;
        const next =
          stored && typeof stored === 'object' ? (stored as Record<string, unknown>)[k] : undefined;
        walk(v, next, [...prefix, k]);
      }
      return;
    }
    const key = prefix.join('.');
    out[key] = isManagedPath(loaded.managed, key) ? 'managed' : stored === undefined ? 'default' : 'user';
  };
  walk(
    { default_provider: view['default_provider'], providers: view['providers'], proxy: view['proxy'] },
    loaded.config,
    [],
  );
  return out;
}

export async function runPath(ctx: CliContext): Promise<number> {
  ctx.print(ctx.paths.configFile);
  return 0;
}

export type { Command };
