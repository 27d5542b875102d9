/**
 * 95% intervals for the report's figures: Wilson score intervals for counts (k of n
 * independent trials, e.g. keys whose value agrees), and a percentile bootstrap over
 * clusters for shares measured on positions, which are not independent within a window
 * (neighbouring tokens share a context), so whole windows are resampled.
 */
export type Interval = [lo: number, hi: number];

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/** Wilson score interval of k successes in n trials; [NaN, NaN] when n is 0. */
export function wilson(k: number, n: number, z = Z95): Interval {
  if (n === 0) return [NaN, NaN];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Resampling rounds of the bootstrap: enough for stable 2.5/97.5 percentiles. */
export const BOOTSTRAP_ROUNDS = 1000;

/**
 * A ratio Σ numerator / Σ denominator accumulated per cluster (a window, a key), with a
 * bootstrap interval that resamples clusters with replacement.
 */
export class ClusteredRatio {
  private readonly num = new Map<number, number>();
  private readonly den = new Map<number, number>();

  add(cluster: number, numerator: number, denominator = 1): void {
    this.num.set(cluster, (this.num.get(cluster) ?? 0) + numerator);
    this.den.set(cluster, (this.den.get(cluster) ?? 0) + denominator);
  }

  get denominator(): number {
    let s = 0;
    for (const d of this.den.values()) s += d;
    return s;
  }

  get numerator(): number {
    let s = 0;
    for (const n of this.num.values()) s += n;
    return s;
  }

  /** The ratio; NaN when the denominator is 0. */
  get value(): number {
    const d = this.denominator;
    return d ? this.numerator / d : NaN;
  }

  /** Percentile bootstrap over clusters; [NaN, NaN] with no data. */
  ci95(rand: () => number, rounds = BOOTSTRAP_ROUNDS): Interval {
    const clusters = [...this.den.keys()];
    const c = clusters.length;
    if (c === 0 || this.denominator === 0) return [NaN, NaN];
    const nums = Float64Array.from(clusters, (k) => this.num.get(k)!);
    const dens = Float64Array.from(clusters, (k) => this.den.get(k)!);
    const estimates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let n = 0;
      let d = 0;
      for (let i = 0; i < c; i++) {
        const j = Math.floor(rand() * c);
        n += nums[j];
        d += dens[j];
      }
      if (d > 0) estimates.push(n / d);
    }
    estimates.sort((a, b) => a - b);
    const at = (q: number) => estimates[Math.min(estimates.length - 1, Math.max(0, Math.round(q * (estimates.length - 1))))];
    return [at(0.025), at(0.975)];
  }
}
