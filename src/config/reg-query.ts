/**
 * The output of `reg query KEY /s` (registry.ts) back into the managed file's data, the inverse of
 * `gatepass mdm print --format reg` (mdm.ts):
 *
 * - one subkey per mapping (`…\gatepass\providers\corp\oidc`), a key without values is an empty
 *   mapping;
 * - REG_SZ / REG_EXPAND_SZ → string, REG_DWORD / REG_QWORD → number, REG_MULTI_SZ → list of
 *   strings; a 0/1 number where the config wants true/false (`tls.skip_verify`) becomes a boolean,
 *   the way the .reg file writes booleans. Other types (REG_BINARY…) are refused.
 *
 * `reg.exe` writes its output in the console's code page: values should be ASCII (URLs, client
 * ids, commands); deploy the YAML file for anything else.
 */
import { ConfigError } from '../errors.js';
import { WINDOWS_POLICY_KEY } from './paths.js';
import { canonicalKey } from './registry.js';
import { findField } from './validate.js';

type Data = Record<string, unknown>;

const VALUE_LINE = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/;

function badValue(key: string, detail: string): ConfigError {
  return new ConfigError('E_CONFIG_MALFORMED', `managed policy ${key}: ${detail}`, {
    hint: 'ask your administrator to fix the policy (`gatepass mdm print --format reg` writes a valid one)',
  });
}

function regValue(type: string, raw: string, where: string): unknown {
  switch (type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return raw;
    case 'REG_DWORD':
    case 'REG_QWORD': {
      if (!/^0x[0-9a-f]+$/i.test(raw)) throw badValue(where, `${type} value ${JSON.stringify(raw)}`);
      return Number.parseInt(raw.slice(2), 16);
    }
    case 'REG_MULTI_SZ':
      return raw === '' ? [] : raw.split('\\0');
    default:
      throw badValue(where, `${type} is not a supported value type (use REG_SZ, REG_DWORD, REG_MULTI_SZ)`);
  }
}

/** Booleans come back from the registry as 0/1 DWORDs: turn them back where the field is boolean. */
function restoreBooleans(data: Data, path: string[]): void {
  for (const [k, v] of Object.entries(data)) {
    const here = [...path, k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      restoreBooleans(v as Data, here);
      continue;
    }
    // providers.<name>.<field…> or a top-level field
    const dotted = here[0] === 'providers' ? here.slice(2).join('.') : here.join('.');
    if (findField(dotted)?.kind === 'boolean' && (v === 0 || v === 1)) data[k] = v === 1;
  }
}

/**
 * The managed data held under `root` in the output of `reg query root /s`. Key lines are the full
 * key name at the start of a line; value lines are indented by four spaces (`    name    TYPE
 * data`); a `(Default)` value is ignored.
 */
export function parseRegQuery(text: string, root: string = WINDOWS_POLICY_KEY): Data {
  const data: Data = {};
  root = canonicalKey(root);
  const rootLower = root.toLowerCase();
  let cur: Data | undefined;
  let curKey = '';
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || /^End of search:/i.test(line)) continue;
    if (!line.startsWith(' ')) {
      const lower = line.toLowerCase();
      if (lower !== rootLower && !lower.startsWith(`${rootLower}\\`)) {
        throw badValue(root, `unexpected line in \`reg query\` output: ${JSON.stringify(line.slice(0, 80))}`);
      }
      cur = data;
      for (const part of line
        .slice(root.length + 1)
        .split('\\')
        .filter(Boolean)) {
        const next: unknown = cur[part];
        if (next !== undefined && (typeof next !== 'object' || Array.isArray(next))) {
          throw badValue(line, `${part} is both a value and a subkey`);
        }
        if (next === undefined) cur[part] = {};
        cur = cur[part] as Data;
      }
      curKey = line;
      continue;
    }
    const m = VALUE_LINE.exec(line);
    if (!m || !cur)
      throw badValue(root, `unexpected line in \`reg query\` output: ${JSON.stringify(line.slice(0, 80))}`);
    const [, name, type, raw = ''] = m;
    if (/^\(.*\)$/.test(name!) || name === '') continue; // the key's (Default) value, maybe localised
    if (typeof cur[name!] === 'object' && cur[name!] !== null)
      throw badValue(curKey, `${name} is both a value and a subkey`);
    cur[name!] = regValue(type!, raw, `${curKey}\\${name}`);
  }
  restoreBooleans(data, []);
  return data;
}
