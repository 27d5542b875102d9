/** Timing helpers for benchmarks: medians of interleaved runs, so load drift hits all variants alike. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Runs each variant once per round, `rounds` times, after `warmup` untimed rounds; returns medians in ms. */
export async function interleaved(variants: Record<string, () => Promise<unknown>>, rounds: number, warmup = 3): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = performance.now();
      await fn();
      if (r >= warmup) times[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Budget, and whether lower is better (default) or higher. */
  budget?: number;
  higherIsBetter?: boolean;
}

export function report(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const ok = f.budget === undefined ? '' : (f.higherIsBetter ? f.value >= f.budget : f.value <= f.budget) ? 'ok' : 'OVER BUDGET';
    const budget = f.budget === undefined ? '' : `${f.higherIsBetter ? '≥' : '≤'} ${f.budget} ${f.unit}`;
    return [f.name, `${f.value.toFixed(f.unit === 'x' ? 3 : 1)} ${f.unit}`, budget, ok];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ')).join('\n');
}
