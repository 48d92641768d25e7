/**
 * The fleet-managed configuration layer: a file an administrator (MDM) installs, read before the
 * user's config. It has the user config's format plus a top-level `locked:` list of keys as `config
 * set` names them (`gateway_url`, `oidc.issuer`, `proxy.listen_port`); a provider-scoped key applies
 * to the providers the managed file defines.
 *
 * - Where: `/etc/gatepass/config.yaml` (Linux), `/Library/Application Support/gatepass/config.yaml`
 *   (macOS; the managed preferences `/Library/Managed Preferences/dev.gatepass.cli.plist` a
 *   configuration profile installs win over it), `%ProgramData%\gatepass\config.yaml` (Windows), or
 *   `GATEPASS_MANAGED_CONFIG` (a `.plist` there is read as managed preferences, an `HKLM\…` key as
 *   a registry key). On Windows the policy registry key `HKLM\SOFTWARE\Policies\gatepass` (what
 *   `gatepass mdm print --format reg` creates; registry.ts) wins over the file.
 * - Trust: the file and every directory on its real path must be root-owned (or yours) and not
 *   group/world-writable (trust.ts); otherwise it is ignored with a warning on stderr.
 * - Merge: every value the managed file sets wins over the user's (`mergeManaged`); `unmergeManaged`
 *   turns a merged config changed by a command back into what belongs in the user's file, and
 *   refuses (exit 2) a change to a locked key.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { managedSources } from './paths.js';
import { parseRegQuery } from './reg-query.js';
import { readManagedSource } from './registry.js';
import type { GatepassConfig, Provider } from './schema.js';
import { contentHash, type SnapshotSource } from './snapshot.js';
import { findUntrusted } from './trust.js';
import { type FieldSpec, findField, getFieldValue, normalizeConfig } from './validate.js';

export interface ManagedLayer {
  file: string;
  source: SnapshotSource;
  /** The values the managed file sets (normalised providers, top-level keys as written). */
  values: Record<string, unknown>;
  locked: string[];
}

type Path = string[];

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`gatepass: warning: ${message}\n`);
}

/**
 * Managed preferences (XML or binary plist) as the managed file's data: the profile payload's keys
 * (`gatepass mdm print --format mobileconfig`) without its Payload* bookkeeping.
 */
async function readPlist(bytes: Buffer): Promise<unknown> {
  const { parse, parseBinary } = await import('plist');
  const data =
    bytes.subarray(0, 8).toString('latin1') === 'bplist00'
      ? parseBinary(bytes)
      : parse(bytes.toString('utf8'));
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([k]) => !k.startsWith('Payload')));
}

const NOT_MERGED = new Set(['locked', 'configured_tools', 'version', 'providers']);

/** The managed source's data: the registry key's values, managed preferences, or the YAML file. */
async function parseSource(name: string, bytes: Buffer, registry: boolean): Promise<unknown> {
  if (registry) return parseRegQuery(bytes.toString('utf8'), name);
  const isPlist = name.endsWith('.plist');
  try {
    return isPlist
      ? await readPlist(bytes)
      : (parseYaml(bytes.toString('utf8'), { maxAliasCount: 100 }) ?? {});
  } catch (err) {
    throw new ConfigError(
      'E_CONFIG_MALFORMED',
      `managed config ${name} is not a valid ${isPlist ? 'property list' : 'YAML file'}`,
      {
        hint: `ask your administrator to fix it (${(err as Error).name})`,
      },
    );
  }
}

/**
 * The managed layer from the first of `sources` that exists (managedSources(): on Windows the policy
 * registry key, then the file), or undefined when there is none or the file is not trusted (warned).
 * A managed source that is not valid throws a ConfigError naming it (exit 1): the administrator must
 * fix it. Registry keys are read with `reg query` (registry.ts); under HKLM\SOFTWARE\Policies only
 * administrators can write, so they need no ownership check.
 */
export async function loadManaged(
  sources: string | readonly string[] = managedSources(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<ManagedLayer | undefined> {
  let file: string | undefined;
  let read: ReturnType<typeof readManagedSource>;
  for (const name of typeof sources === 'string' ? [sources] : sources) {
    read = readManagedSource(name, env);
    if (read) {
      file = name;
      break;
    }
  }
  if (!file || !read) return undefined;
  const { bytes, mtimeMs, registry } = read;
  const bad = registry ? undefined : findUntrusted(file);
  if (bad) {
    warnOnce(
      `ignoring the managed config ${file}: ${bad.target} is ${bad.reason} (it must be owned by root/an administrator and not writable by others)`,
    );
    return undefined;
  }
  const raw = await parseSource(file, bytes, registry);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('E_CONFIG_MALFORMED', `managed config ${file}: the document is not a mapping`);
  }
  const record = raw as Record<string, unknown>;
  const locked = record['locked'] ?? [];
  if (!Array.isArray(locked) || locked.some((k) => typeof k !== 'string' || !findField(k))) {
    throw new ConfigError(
      'E_CONFIG_MALFORMED',
      `managed config ${file}: locked must be a list of config keys (as \`gatepass config set\` names them)`,
      { hint: 'run `gatepass config --help` for the list of keys' },
    );
  }
  const { locked: _l, ...rest } = record;
  const normalized = normalizeConfig(rest, file);
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (!NOT_MERGED.has(k)) values[k] = v;
  if (rest['proxy'] !== undefined) values['proxy'] = normalized.proxy;
  if (rest['providers'] !== undefined) values['providers'] = normalized.providers;
  const source = { size: bytes.length, mtimeMs, hash: contentHash(bytes) };
  return { file, source, values, locked: (locked as string[]).map((k) => findField(k)!.key) };
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** [path, value] of every leaf (a non-mapping value; lists are leaves) under `obj`. */
function leaves(obj: Record<string, unknown>, prefix: Path = []): Array<[Path, unknown]> {
  return Object.entries(obj).flatMap(
    ([k, v]): Array<[Path, unknown]> =>
      isPlain(v) && Object.keys(v).length ? leaves(v, [...prefix, k]) : [[[...prefix, k], v]],
  );
}

function getIn(obj: unknown, p: Path): unknown {
  let cur = obj;
  for (const k of p) cur = isPlain(cur) ? cur[k] : undefined;
  return cur;
}

function setIn(obj: Record<string, unknown>, p: Path, value: unknown): void {
  let cur = obj;
  for (const k of p.slice(0, -1)) {
    if (!isPlain(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  if (value === undefined) delete cur[p.at(-1)!];
  else cur[p.at(-1)!] = structuredClone(value);
}

/** `user` with every value the managed layer sets laid over it (a new object). */
export function mergeManaged(user: GatepassConfig, managed: ManagedLayer | undefined): GatepassConfig {
  const out = structuredClone(user) as unknown as Record<string, unknown>;
  if (!managed) return out as unknown as GatepassConfig;
  for (const [p, v] of leaves(managed.values)) setIn(out, p, v);
  return out as unknown as GatepassConfig;
}

function lockedSpecs(managed: ManagedLayer): FieldSpec[] {
  return managed.locked.map((k) => findField(k)!);
}

/** Locked (key, provider) pairs: a provider key locks it in each provider the managed file defines. */
function lockedValues(config: GatepassConfig, managed: ManagedLayer): Array<[string, unknown]> {
  const names = Object.keys((managed.values['providers'] as Record<string, unknown>) ?? {});
  return lockedSpecs(managed).flatMap(
    (spec): Array<[string, unknown]> =>
      spec.scope === 'global'
        ? [[spec.key, getFieldValue(config, undefined, spec)]]
        : names.map((n) => [
            `${spec.key}@${n}`,
            getFieldValue(config, config.providers[n] as Provider | undefined, spec),
          ]),
  );
}

/** Refuse (exit 2, naming the managed file) when `key` is locked for `providerName`. */
export function assertNotLocked(
  managed: ManagedLayer | undefined,
  keys: string[],
  providerName: string,
): void {
  if (!managed) return;
  const names = Object.keys((managed.values['providers'] as Record<string, unknown>) ?? {});
  for (const key of keys) {
    const spec = findField(key);
    if (!spec || !managed.locked.includes(spec.key)) continue;
    if (spec.scope === 'provider' && !names.includes(providerName)) continue;
    throw lockedError(managed, spec.key);
  }
}

function lockedError(managed: ManagedLayer, key: string): ConfigError {
  return new ConfigError(
    'E_CONFIG_INVALID',
    `${key} is locked by your organisation's managed config ${managed.file}; it cannot be changed here`,
    { field: key, exitCode: 2, hint: 'ask your administrator to change it in the managed config' },
  );
}

/**
 * What belongs in the user's file after a command changed `after` (a merged view of `userBefore`):
 * each managed value left as the managed file has it goes back to the user's own value (so managed
 * values are never copied into the user's file). Throws when a locked value changed.
 */
export function unmergeManaged(
  userBefore: GatepassConfig,
  mergedBefore: GatepassConfig,
  after: GatepassConfig,
  managed: ManagedLayer | undefined,
): GatepassConfig {
  if (!managed) return after;
  const was = new Map(lockedValues(mergedBefore, managed));
  for (const [id, v] of lockedValues(after, managed)) {
    if (!isDeepStrictEqual(was.get(id), v)) throw lockedError(managed, id.split('@')[0]!);
  }
  const out = structuredClone(after) as unknown as Record<string, unknown>;
  for (const [p, v] of leaves(managed.values)) {
    if (!isDeepStrictEqual(getIn(out, p), v)) continue; // the user changed it: theirs to keep
    setIn(out, p, getIn(userBefore, p));
    // Drop mappings left empty that the user's file did not have.
    for (let i = p.length - 1; i > 0; i--) {
      const parent = p.slice(0, i);
      const node = getIn(out, parent);
      if (!isPlain(node) || Object.keys(node).length || getIn(userBefore, parent) !== undefined) break;
      setIn(out, parent, undefined);
    }
  }
  return out as unknown as GatepassConfig;
}

/** Keys of provider `name` (dotted, as `config set` names them) that the managed layer sets. */
export function managedKeysOf(managed: ManagedLayer | undefined, name: string): string[] {
  const p = (managed?.values['providers'] as Record<string, Record<string, unknown>> | undefined)?.[name];
  return p
    ? leaves(p)
        .map(([k]) => k.join('.'))
        .filter((k) => k !== 'type')
    : [];
}

/** Whether dotted path `key` (`providers.corp.gateway_url`, `proxy.listen_port`) is set by the layer. */
export function isManagedPath(managed: ManagedLayer | undefined, key: string): boolean {
  if (!managed) return false;
  return leaves(managed.values).some(([p]) => {
    const k = p.join('.');
    return k === key || key.startsWith(`${k}.`);
  });
}
