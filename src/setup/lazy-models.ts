/**
 * Model discovery deferred by a lazy setup, setup's side: `setup --lazy` has no token, so instead of
 * listing the gateway's models it records `models_pending: true` on the provider (with `--models
 * auto`, or by default when the user chose no list; any other setup clears it). The fill-in itself
 * (lazy-fill.ts, on the first full-path token) runs setup with `keepUserModels`, which keeps model
 * keys the user already set in a tool's own file (Claude Code's tier variables, Codex's `model`).
 */
import type { Provider } from '../config/schema.js';
import type { FilePlan } from '../tools/edit/file.js';
import type { FileChange } from '../tools/edit/types.js';
import { readTextIfExists } from '../util/fs.js';

/** What setup records on the provider: set by a lazy setup that would have listed models, else cleared. */
export function recordPendingModels(
  saved: Provider,
  options: { lazy?: boolean; modelsAuto?: boolean; explicit: boolean },
): void {
  const userChosen = Boolean(saved.models?.length) && saved.models_discovered !== true;
  if (options.lazy && !options.explicit && (options.modelsAuto || !userChosen)) saved.models_pending = true;
  else delete saved.models_pending;
}

/** Model keys a user may have chosen in a tool's own file: kept as they are by the deferred fill-in. */
const USER_MODEL_KEYS: Record<string, string[][]> = {
  claude: ['HAIKU', 'SONNET', 'OPUS'].map((t) => ['env', `ANTHROPIC_DEFAULT_${t}_MODEL`]),
  codex: [['model']],
};

/** Does `text` (the tool's file) already hold a value at `key`? */
async function holds(plan: FilePlan, text: string, key: string[]): Promise<boolean> {
  try {
    let doc: unknown;
    if (plan.format === 'json') {
      const { parse } = await import('jsonc-parser');
      doc = parse(text);
    } else if (plan.format === 'toml') {
      const { loadToml, parseTomlDocument } = await import('../tools/edit/toml.js');
      doc = parseTomlDocument(await loadToml(), plan.file, text);
    } else return false;
    let cur = doc;
    for (const k of key)
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
    return cur !== undefined;
  } catch {
    return false; // a malformed file: setup's own planning refuses it with the details
  }
}

/**
 * For the deferred fill-in: drop a tool's model settings whose key already holds a value in its file
 * that an earlier gatepass run did not write (the user's choice). `previous` are the tool's file
 * records from configured_tools (what gatepass wrote before).
 */
export async function keepUserModelKeys(
  toolId: string,
  plans: FilePlan[],
  previous: FileChange[],
): Promise<FilePlan[]> {
  const keys = USER_MODEL_KEYS[toolId];
  if (!keys) return plans;
  const recorded = new Set(
    previous.flatMap((f) => f.changes.map((c) => `${f.file}\u0000${c.path.join('\u0000')}`)),
  );
  const out: FilePlan[] = [];
  for (const plan of plans) {
    const text = await readTextIfExists(plan.file);
    if (text === undefined) {
      out.push(plan);
      continue;
    }
    const settings = [];
    for (const s of plan.settings) {
      const isModelKey = keys.some((k) => k.join('\u0000') === s.path.join('\u0000'));
      const ours = recorded.has(`${plan.file}\u0000${s.path.join('\u0000')}`);
      if (isModelKey && !ours && (await holds(plan, text, s.path))) continue;
      settings.push(s);
    }
    out.push({ ...plan, settings });
  }
  return out;
}
