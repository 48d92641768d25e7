/**
 * Loading and saving the config file. Writes are atomic (temp + rename), the file is 0600 and its
 * directory 0700, read-modify-write cycles hold a lock so concurrent gatepass processes (say, two
 * token helpers persisting a rotated refresh-token reference) cannot lose each other's update, and
 * comments a user put in the YAML survive. A file (or directory) others could write is refused
 * before it is read (trust.ts).
 */

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError } from '../errors.js';
import { ensurePrivateDir, PRIVATE_DIR_MODE, readTextIfExists, writeFileAtomic } from '../util/fs.js';
import { withFileLock } from '../util/lock.js';
import { loadManaged, type ManagedLayer, mergeManaged, unmergeManaged } from './managed.js';
import { resolvePaths } from './paths.js';
import { emptyConfig, type GatepassConfig, type Provider } from './schema.js';
import {
  type ConfigSnapshot,
  contentHash,
  SNAPSHOT_VERSION,
  snapshotFileFor,
  snapshotMatches,
} from './snapshot.js';
import { oidcSecretKey } from './token-keys.js';
import { assertTrustedConfig } from './trust.js';
import { normalizeConfig, requireUsableProvider, validateConfig } from './validate.js';

export interface LoadedConfig {
  file: string;
  exists: boolean;
  /** The user's file with the fleet-managed layer (managed.ts) laid over it. */
  config: GatepassConfig;
  /** The managed layer, when one is installed and trusted. */
  managed?: ManagedLayer;
}

/**
 * The parser's message may quote the offending source after a colon ("Not a YAML token: …"), and
 * the file can hold secrets a user pasted by mistake: keep only the description.
 */
function yamlProblem(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:\s.*$/, '');
}

function parse(file: string, text: string): { doc: Document; config: GatepassConfig } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    const what = yamlProblem(e.message);
    throw new ConfigError(
      'E_CONFIG_MALFORMED',
      `config file ${file} is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${what} (${e.code})`,
      // No `cause`: the parser's error carries the source text, which `-v` would print.
      { hint: 'fix the file, or move it aside and run `gatepass config set` again' },
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias whose anchor is missing, or an alias bomb: the document parsed but has no value.
    throw new ConfigError(
      'E_CONFIG_MALFORMED',
      `config file ${file} is not valid YAML: ${yamlProblem((err as Error).message)}`,
      { hint: 'fix the file, or move it aside and run `gatepass config set` again' },
    );
  }
  return { doc, config: normalizeConfig(data, file) };
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const managed = await loadManaged();
  const withManaged = (c: GatepassConfig) => ({
    config: mergeManaged(c, managed),
    ...(managed ? { managed } : {}),
  });
  const text = await readTextIfExists(file);
  if (text === undefined) return { file, exists: false, ...withManaged(emptyConfig()) };
  await assertTrustedConfig(file);
  const { config } = parse(file, text);
  const merged = withManaged(config);
  await refreshSnapshot(file, text, merged.config, managed);
  return { file, exists: true, ...merged };
}

/**
 * Keep the JSON snapshot of the config (see snapshot.ts) in step with `text`, the YAML just read or
 * written. Best effort: without a snapshot `gatepass token` only takes the slower full path.
 */
async function refreshSnapshot(
  file: string,
  text: string,
  configOf: GatepassConfig | (() => GatepassConfig),
  managed: ManagedLayer | undefined,
): Promise<void> {
  try {
    const st = await stat(file);
    const bytes = Buffer.from(text, 'utf8');
    const source = { size: bytes.length, mtimeMs: st.mtimeMs, hash: contentHash(bytes) };
    const managedSource = managed ? { file: managed.file, ...managed.source } : null;
    // Written for another content (the file changed since we read it): leave it to the next reader.
    if (st.size !== bytes.length || (await snapshotMatches(file, source, managedSource))) return;
    const config = typeof configOf === 'function' ? configOf() : configOf;
    const usable = Object.keys(config.providers).filter((name) => {
      try {
        requireUsableProvider(name, config.providers[name], config);
        return true;
      } catch {
        return false;
      }
    });
    const secretKeys: Record<string, string> = {};
    for (const [name, p] of Object.entries(config.providers)) {
      if (p.type === 'oidc') secretKeys[name] = oidcSecretKey(p.gateway_url ?? '', p.oidc);
    }
    const snapshot: ConfigSnapshot = {
      v: SNAPSHOT_VERSION,
      source,
      managed: managedSource,
      config,
      usable,
      secret_keys: secretKeys,
    };
    await writeFileAtomic(snapshotFileFor(file), JSON.stringify(snapshot), { mode: 0o600 });
  } catch {
    // a read-only config directory, say
  }
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
    // An empty mapping is written `{}` (flow style); once it gets keys, give it block style like
    // the rest of the file instead of growing `oidc: { issuer: …, client_id: … }`.
    if (map.flow && map.items.length === 0) map.flow = false;
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

/**
 * A provider written with `base_url` (Trailblaze's spelling, read as gateway_url) keeps that key,
 * in its place and with its comment, instead of being rewritten as gateway_url by every update.
 */
function keepBaseUrlSpelling(doc: Document, out: Record<string, unknown>): Record<string, unknown> {
  const providers = out['providers'] as Record<string, Record<string, unknown>> | undefined;
  for (const [name, p] of Object.entries(providers ?? {})) {
    if (!('gateway_url' in p) || !doc.hasIn(['providers', name, 'base_url'])) continue;
    if (doc.hasIn(['providers', name, 'gateway_url'])) continue;
    providers![name] = Object.fromEntries(
      Object.entries(p).map(([k, v]) => [k === 'gateway_url' ? 'base_url' : k, v]),
    );
  }
  return out;
}

/**
 * True when `dir` is gatepass' own config directory (`~/.config/gatepass`), whose mode gatepass may
 * narrow to 0700; a directory holding a `--config` / `GATEPASS_CONFIG` file is the user's.
 */
function isDefaultConfigDir(dir: string): boolean {
  try {
    const own = path.dirname(resolvePaths({ env: { ...process.env, GATEPASS_CONFIG: '' } }).configFile);
    return path.resolve(dir) === own;
  } catch {
    return false; // no home directory: there is no default location to own
  }
}

export interface UpdateOptions {
  /** `full` (default): run full validation where a provider's mandatory fields are present. */
  validation?: 'full' | 'partial';
}

/**
 * Read-modify-write the config under a lock. `mutate` changes the object in place; the result is
 * validated before anything is written, so a rejected change leaves the file untouched. `mutate`
 * sees the merged view (the fleet-managed layer over the user's file, managed.ts); only the user's
 * own values are written back, and a change to a locked key is refused (exit 2). Returns the
 * effective (merged) config.
 */
export async function updateConfig(
  file: string,
  mutate: (config: GatepassConfig) => void | Promise<void>,
  options: UpdateOptions = {},
): Promise<GatepassConfig> {
  const dir = path.dirname(file);
  await ensurePrivateDir(dir, PRIVATE_DIR_MODE, { tightenExisting: isDefaultConfigDir(dir) });
  // Before anything is read or written: never edit (or take commands from) a file others control.
  await assertTrustedConfig(file);
  return withFileLock(file, async () => {
    const text = await readTextIfExists(file);
    const parsed = text === undefined ? undefined : parse(file, text);
    const doc = parsed?.doc ?? parseDocument('');
    const userBefore = parsed?.config ?? emptyConfig();
    // Commands change the merged view; only what is the user's own goes back into their file.
    const managed = await loadManaged();
    const before = mergeManaged(userBefore, managed);
    const merged = structuredClone(before);
    await mutate(merged);
    const full = options.validation !== 'partial';
    try {
      validateConfig(merged, { full });
    } catch (err) {
      throw blameFile(err, file, text === undefined ? undefined : before, full);
    }
    const config = unmergeManaged(userBefore, before, merged, managed);
    if (text !== undefined && isDeepStrictEqual(userBefore, config)) {
      await refreshSnapshot(file, text, before, managed);
      return before;
    }
    if (text === undefined) {
      doc.commentBefore =
        ' gatepass configuration — edit with `gatepass config set` (see `gatepass config --help`)';
    }
    sync(doc, [], keepBaseUrlSpelling(doc, JSON.parse(JSON.stringify(config))));
    const written = doc.toString({ lineWidth: 0 });
    await writeFileAtomic(file, written, { mode: 0o600 });
    // Snapshot exactly what a reader of the new YAML will get.
    await refreshSnapshot(file, written, () => mergeManaged(parse(file, written).config, managed), managed);
    // The effective view: a managed value still wins over a value the user just set.
    return mergeManaged(config, managed);
  });
}

/**
 * A validation error for a value that was already bad in the file before this change (a hand edit)
 * is the file's problem, not the command line's: say so, name the file, and exit 1 instead of 2.
 */
function blameFile(err: unknown, file: string, before: GatepassConfig | undefined, full: boolean): unknown {
  if (!before || !(err instanceof ConfigError) || err.code !== 'E_CONFIG_INVALID') return err;
  try {
    validateConfig(before, { full });
    return err; // the file was fine: the new value is what is wrong
  } catch (old) {
    if (!(old instanceof ConfigError) || old.message !== err.message) return err;
  }
  return new ConfigError('E_CONFIG_INVALID', `config file ${file}: ${err.message}`, {
    ...(err.field ? { field: err.field } : {}),
    exitCode: 1,
    hint: `fix it first: \`gatepass config set\` a valid ${err.field ?? 'value'} (or \`gatepass config unset\` it), or edit the file`,
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
