/**
 * What `setup --dry-run` and `teardown --dry-run` print: a small line-based unified diff (config
 * files are small), and the masking of the secrets such a diff would show.
 */

/** The secret inside a backed-up raw value: a JSON/TOML string, or the value of a KEY=VALUE line. */
export function secretOf(raw: string): string {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'string') return v;
  } catch {
    // not JSON
  }
  const eq = raw.indexOf('=');
  return (eq >= 0 ? raw.slice(eq + 1) : raw).trim().replace(/^(["'])(.*)\1$/, '$2');
}

/** `text` with every one of `secrets` (of 4 characters or more) replaced by `<redacted>`. */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out;
}

export function unifiedDiff(file: string, before: string | undefined, after: string, context = 3): string {
  const a = before === undefined || before === '' ? [] : before.replace(/\r?\n$/, '').split(/\r?\n/);
  const b = after === '' ? [] : after.replace(/\r?\n$/, '').split(/\r?\n/);
  const n = a.length;
  const m = b.length;
  // LCS table
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  type Op = { t: ' ' | '-' | '+'; line: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ t: ' ', line: a[i]!, ai: i++, bi: j++ });
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ t: '-', line: a[i]!, ai: i++, bi: j });
    } else {
      ops.push({ t: '+', line: b[j]!, ai: i, bi: j++ });
    }
  }
  const out = [`--- ${before === undefined ? '/dev/null' : file}`, `+++ ${file}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.t === ' ') {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context lines of each other
    for (;;) {
      while (end < ops.length && ops[end]!.t !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.t === ' ' && next - end < 2 * context) next++;
      if (next < ops.length && ops[next]!.t !== ' ') {
        end = next;
        continue;
      }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.ai;
    const bStart = hunk[0]!.bi;
    const aLen = hunk.filter((o) => o.t !== '+').length;
    const bLen = hunk.filter((o) => o.t !== '-').length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`);
    for (const o of hunk) out.push(`${o.t}${o.line}`);
    k = end;
    start = end;
  }
  return out.join('\n');
}
