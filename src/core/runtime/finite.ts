/**
 * Results are finite or the run fails. A damaged checkpoint (a flipped exponent bit, a run
 * of 0xff bytes) can hold NaN or huge weights that the graph turns into NaN or ±Infinity;
 * reporting those as coefficients or probabilities would be silently wrong, so every
 * tensor a run returns is checked (one pass over what was fetched, ~1 ns a value).
 */
import type { HookTensor } from './session';

export class NonFiniteOutputError extends Error {}

export function checkFinite(out: ReadonlyMap<string, HookTensor>, model: string): void {
  for (const [hook, t] of out) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      // x - x is 0 for every finite x, NaN for NaN and ±Infinity
      if (d[i] - d[i] !== 0) {
        throw new NonFiniteOutputError(`${model} produced ${Number.isNaN(d[i]) ? 'NaN' : d[i]} in ${hook}: its weights hold NaN, infinite or overflowing values (a damaged checkpoint?)`);
      }
    }
  }
}
