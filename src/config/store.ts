/**
 * Loading and saving the config file. Writes are atomic (temp + rename), the file is 0600 and its
 * directory 0700, read-modify-write cycles hold a lock so concurrent gatepass processes (say, two
 * token helpers persisting a rotated refresh-token reference) cannot lose each other's update, and
 * comments a user put in the YAML survive.
 */

import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError } from '../errors.js';
import { ensurePrivateDir, readTextIfExists, writeFileAtomic } from '../util/fs.js';
import { withFileLock } from '../util/lock.js';
import { emptyConfig, type GatepassConfig, type Provider } from './schema.js';
import { normalizeConfig, requireUsableProvider, validateConfig } from './validate.js';

export interface LoadedConfig {
  file: string;
  exists: boolean;
  config: GatepassConfig;
}

function parse(file: string, text: string): { doc: Document; config: GatepassConfig } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw new ConfigError(
      'E_CONFIG_MALFORMED',
      `config file ${file} is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${e.message.split('\n')[0]}`,
      { cause: e, hint: 'fix the file, or move it aside and run `gatepass config set` again' },
    );
  }
  return { doc, config: normalizeConfig(doc.toJS(), file) };
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const text = await readTextIfExists(file);
  if (text === undefined) return { file, exists: false, config: emptyConfig() };
  return { file, exists: true, config: parse(file, text).config };
}

/** Write `value` into `node`'s document, keeping comments and order of everything that survives. */
function sync(doc: Document, pathParts: unknown[], value: unknown): void {
  const existing = pathParts.length ? doc.getIn(pathParts, true) : doc.contents;
  if (
    value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    (isMap(existing) || pathParts.length === 0)
  ) {
    const map = (pathParts.length ? existing : doc.contents) as YAMLMap | null;
    if (!isMap(map)) {
      doc.contents = doc.createNode(value) as never;
      return;
    }
    const record = value as Record<string, unknown>;
    for (const item of [...map.items]) {
      const key = (item.key as { value?: unknown })?.value ?? item.key;
      if (!(String(key) in record) || record[String(key)] === undefined) map.delete(key);
    }
    for (const [k, v] of Object.entries(record)) {
      if (v === undefined) continue;
      sync(doc, [...pathParts, k], v);
    }
    return;
  }
  const current = existing === undefined ? undefined : doc.getIn(pathParts);
  if (isDeepStrictEqual(current, value) && !(isSeq(existing) && !Array.isArray(value))) return;
  doc.setIn(pathParts, doc.createNode(value));
}

export interface UpdateOptions {
  /** `full` (default): run full validation where a provider's mandatory fields are present. */
  validation?: 'full' | 'partial';
}

/**
 * Read-modify-write the config under a lock. `mutate` changes the object in place; the result is
 * validated before anything is written, so a rejected change leaves the file untouched.
 */
export async function updateConfig(
  file: string,
  mutate: (config: GatepassConfig) => void | Promise<void>,
  options: UpdateOptions = {},
): Promise<GatepassConfig> {
  await ensurePrivateDir(path.dirname(file));
  return withFileLock(file, async () => {
    const text = await readTextIfExists(file);
    const parsed = text === undefined ? undefined : parse(file, text);
    const doc = parsed?.doc ?? parseDocument('');
    const config = parsed?.config ?? emptyConfig();
    const before = structuredClone(config);
    await mutate(config);
    validateConfig(config, { full: options.validation !== 'partial' });
    if (text !== undefined && isDeepStrictEqual(before, config)) return config;
    if (text === undefined) {
      doc.commentBefore =
        ' gatepass configuration — edit with `gatepass config set` (see `gatepass config --help`)';
    }
    sync(doc, [], JSON.parse(JSON.stringify(config)));
    await writeFileAtomic(file, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
    return config;
  });
}

export interface SelectedProvider {
  name: string;
  provider: Provider | undefined;
}

/** The provider named by `--provider`, else the config's default provider. */
export function selectProvider(config: GatepassConfig, name?: string): SelectedProvider {
  const n = name || config.default_provider || 'default';
  return { name: n, provider: config.providers[n] };
}

/**
 * Select a provider that must be fully configured (throws an actionable error otherwise). With the
 * config `file` given, a bad value already stored there is reported as a problem of that file (exit
 * 1, naming it) rather than as bad user input.
 */
export function requireProvider(
  config: GatepassConfig,
  name?: string,
  file?: string,
): { name: string; provider: Provider } {
  const sel = selectProvider(config, name);
  try {
    return { name: sel.name, provider: requireUsableProvider(sel.name, sel.provider, config) };
  } catch (err) {
    if (file && err instanceof ConfigError && err.code === 'E_CONFIG_INVALID') {
      throw new ConfigError('E_CONFIG_INVALID', `config file ${file}: ${err.message}`, {
        ...(err.field ? { field: err.field } : {}),
        exitCode: 1,
        hint: 'fix the value with `gatepass config set` (or `gatepass config unset`), or edit the file',
      });
    }
    throw err;
  }
}
