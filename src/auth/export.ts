/**
 * Handing a token to other programs (`gatepass exec`, `gatepass env`): the variable set and its
 * renderings. Pure functions; the commands fetch the tokens.
 *
 * Every rendering is safe to source or parse whatever the values hold (a hostile provider name,
 * base URL or token): `shell` single-quotes anything unusual; `dotenv` writes plain or single-quoted
 * values (literal in bash, POSIX sh and dotenv parsers alike) and refuses a value that no such line
 * can carry (a quote, a newline, a control character); instrumentation args (`key=value` lines that
 * are often handed to `adb shell am instrument -e`) refuse any value with a character a shell or a
 * line reader would interpret.
 */
import type { Provider } from '../config/schema.js';
import { GatepassError } from '../errors.js';

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

/** Characters no shell, dotenv parser or line reader gives a meaning to. */
const INERT = /^[A-Za-z0-9_@%+=:,./~-]*$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function refuse(format: string, key: string, why: string): never {
  throw new GatepassError('E_CONFIG_INVALID', `cannot write ${key} in ${format} format: its value ${why}`, {
    hint: '`--format json` or `--format shell` can carry any value; otherwise fix the value (`gatepass config show`)',
  });
}

/**
 * A dotenv value: plain when inert, else single-quoted — literal for bash / sh `source` (no `$`,
 * backtick or backslash expansion) and for dotenv parsers. A value holding a single quote or a
 * control character (a newline would start a new line) cannot be written safely: refused.
 */
function dotenvQuote(key: string, value: string): string {
  if (INERT.test(value)) return value;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) refuse('dotenv', key, 'holds a control character');
  if (value.includes("'")) refuse('dotenv', key, 'holds a single quote');
  return `'${value}'`;
}

export type EnvFormat = 'shell' | 'dotenv' | 'json';

export function formatVariables(vars: Record<string, string>, format: EnvFormat): string {
  if (format === 'json') return JSON.stringify(vars, null, 2);
  return Object.entries(vars)
    .map(([k, v]) => {
      if (!VARIABLE_NAME.test(k)) refuse(format, JSON.stringify(k), 'has a name that is no variable name');
      return format === 'shell' ? `export ${k}=${shellQuote(v)}` : `${k}=${dotenvQuote(k, v)}`;
    })
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
  for (const [key, value] of out) {
    if (!INERT.test(key) || !INERT.test(value) || !value) {
      refuse(
        'instrumentation-args',
        key,
        'is empty or holds a character other than letters, digits and _ @ % + = : , . / ~ -',
      );
    }
  }
  return out;
}
