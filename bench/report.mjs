// Shared by the bench sections: a target line with its ratio and PASS/MISS, and the load average.
import os from 'node:os';

const r2 = (x) => Math.round(x * 100) / 100;

/**
 * One target: `name: <figure> <ratio>× (target ≤ <limit>×) PASS|MISS`, plus other figures for
 * context. `higherIsBetter` flips the comparison (throughput targets: ≥).
 */
export function target({ name, figure, ratio, limit, higherIsBetter = false, also = '' }) {
  if (ratio === undefined || Number.isNaN(ratio))
    return { name, verdict: 'MISS', line: `${name}: no figure — MISS` };
  const ok = higherIsBetter ? ratio >= limit : ratio <= limit;
  const verdict = ok ? 'PASS' : 'MISS';
  const op = higherIsBetter ? '≥' : '≤';
  const line = `${name}: ${figure} ${r2(ratio)}× (target ${op} ${limit}×) ${verdict}${also ? `; ${also}` : ''}`;
  return { name, figure, ratio: r2(ratio), limit, verdict, line };
}

export function loadAverage() {
  return os.loadavg().map((x) => r2(x));
}
