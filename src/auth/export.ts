/**
 * Handing a token to other programs (`gatepass exec`, `gatepass env`): the variable set and its
 * renderings. Pure functions; the commands fetch the tokens.
 */
import type { Provider } from '../config/schema.js';

/**
 * The environment variables carrying a provider's token, in a stable order; with `extraCaFile`
 * (see programCaFile), NODE_EXTRA_CA_CERTS so Node programs trust the gateway as gatepass does.
 */
export function tokenVariables(
  name: string,
  provider: Provider,
  token: string,
  options: { extraCaFile?: string | undefined } = {},
): Record<string, string> {
  const vars: Record<string, string> = { GATEPASS_TOKEN: token };
  if (provider.type === 'command' && provider.auth.env_var) vars[provider.auth.env_var] = token;
  vars['GATEPASS_PROVIDER'] = name;
  if (provider.gateway_url) vars['GATEPASS_GATEWAY_URL'] = provider.gateway_url;
  if (options.extraCaFile) vars['NODE_EXTRA_CA_CERTS'] = options.extraCaFile;
  return vars;
}

/** POSIX shell single-quoting: safe for any value, including quotes and newlines. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function dotenvQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]*$/.test(value)) return value;
  return JSON.stringify(value);
}

export type EnvFormat = 'shell' | 'dotenv' | 'json';

export function formatVariables(vars: Record<string, string>, format: EnvFormat): string {
  if (format === 'json') return JSON.stringify(vars, null, 2);
  return Object.entries(vars)
    .map(([k, v]) => (format === 'shell' ? `export ${k}=${shellQuote(v)}` : `${k}=${dotenvQuote(v)}`))
    .join('\n');
}

/**
 * Trailblaze plan 037's on-device convention: `trailblaze.llm.auth.token.<provider_id>` for every
 * provider with a token, and the selected provider's connection info.
 */
export function instrumentationArgs(
  tokens: ReadonlyArray<readonly [string, string]>,
  selected: { name: string; provider: Provider },
): Array<[string, string]> {
  const out: Array<[string, string]> = tokens.map(([id, token]) => [
    `trailblaze.llm.auth.token.${id}`,
    token,
  ]);
  const p = selected.provider;
  if (p.api_type) out.push(['trailblaze.llm.provider.type', p.api_type.toLowerCase()]);
  if (p.gateway_url) out.push(['trailblaze.llm.provider.base_url', p.gateway_url]);
  if (p.chat_completions_path) {
    out.push(['trailblaze.llm.provider.chat_completions_path', p.chat_completions_path]);
  }
  return out;
}
