/**
 * Picking models from a gateway's list for tools that want one per role: Claude Code's tier
 * variables (the newest haiku / sonnet / opus by version, then snapshot date) and Codex's `model`.
 */

export type Tier = 'haiku' | 'sonnet' | 'opus';
export const TIERS: readonly Tier[] = ['haiku', 'sonnet', 'opus'];

/**
 * Version of a Claude model id as numbers to compare: `claude-3-5-haiku-20241022` → [3,5,20241022],
 * `claude-sonnet-4-20250514` → [4,0,20250514], `us.anthropic.claude-opus-4-1-20250805-v1:0` →
 * [4,1,20250805]. Small numbers are the version, an 8-digit one the snapshot date.
 */
export function claudeVersion(id: string): number[] {
  const tail = id.toLowerCase().slice(Math.max(0, id.toLowerCase().indexOf('claude')));
  const parts = tail.replace(/-v\d+(:\d+)?$/, '').split(/[-._:@/]/);
  const version: number[] = [];
  let date = 0;
  for (const p of parts) {
    if (/^\d{8}$/.test(p)) date = Number(p);
    else if (/^\d{1,2}$/.test(p) && version.length < 2) version.push(Number(p));
  }
  while (version.length < 2) version.push(0);
  return [...version, date];
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The newest model of each Claude family in `models` (by version, then snapshot date). */
export function pickTiers(models: readonly string[]): Partial<Record<Tier, string>> {
  const out: Partial<Record<Tier, string>> = {};
  for (const tier of TIERS) {
    const candidates = models.filter((m) => m.toLowerCase().includes(tier));
    let best: string | undefined;
    for (const m of candidates) {
      if (best === undefined || compareVersions(claudeVersion(m), claudeVersion(best)) > 0) best = m;
    }
    if (best !== undefined) out[tier] = best;
  }
  return out;
}

/** Codex's default `model` from a discovered list: a Codex model, else a GPT / o-series one. */
export function pickCodexModel(models: readonly string[]): string | undefined {
  return models.find((m) => /codex/i.test(m)) ?? models.find((m) => /^(gpt-|o\d)/i.test(m));
}
