/**
 * The hot loop. The graph has already dropped every coefficient below its key's N-th
 * best as of the batch's start (see candidateHook), so once the heaps are full what
 * arrives here is a small superset of what can enter them; each candidate is still
 * compared with the key's current threshold, which only rises during the batch.
 */
import type { HookTensor } from '../../runtime/session';
import type { TopNStore } from './topn';
import type { Batch } from './windows';

export interface ScanStats {
  candidates: number;
}

/**
 * The floors to run a batch with: each layer's thresholds as they stand, copied since
 * the store raises them while the batch is scanned.
 */
export function candidateFloors(store: TopNStore, nLayers: number): Float32Array[] {
  const dFf = store.nKeys / nLayers;
  return Array.from({ length: nLayers }, (_, l) => store.threshold.slice(l * dFf, (l + 1) * dFf));
}

/**
 * Offers `batch`'s candidates to the store, layer by layer (`candidates[l]` is layer l's
 * mlp.candidates output, [n, 4] rows of (row, position, key, coeff) in row-major order,
 * run with floors at or below the store's thresholds). Adds to `touched` each paragraph
 * that placed an entry, whose tokens must then be kept. Positions holding special tokens
 * (`special[id] === 1`) and padding are not candidates. The offers happen in the order a
 * scan of the full coefficients would make them, so the store ends up the same.
 */
export function scanBatch(store: TopNStore, batch: Batch, candidates: readonly HookTensor[], special: Uint8Array, touched: Set<number>): ScanStats {
  const { rows, seq } = batch;
  const dFf = store.nKeys / candidates.length;
  const threshold = store.threshold;
  // 1 where (row, position) is padding or a special token: one lookup per candidate
  const skip = new Uint8Array(rows.length * seq).fill(1);
  let positions = 0;
  rows.forEach(({ ids }, r) => {
    for (let t = 0; t < ids.length; t++) if (!(skip[r * seq + t] = special[ids[t]])) positions++;
  });
  for (let l = 0; l < candidates.length; l++) {
    const { data, dims } = candidates[l];
    if (dims.length !== 2 || dims[1] !== 4) throw new Error(`internal: layer ${l} candidates are [${dims}], expected [n, 4]`);
    const keyBase = l * dFf;
    for (let i = 0; i < data.length; i += 4) {
      // `| 0`: small integers index faster than the floats they arrive as
      const r = data[i] | 0;
      const t = data[i + 1] | 0;
      const key = keyBase + (data[i + 2] | 0);
      const c = data[i + 3];
      // `>=`: an equal coefficient may still win its tie by coming earlier
      if (skip[r * seq + t] || !(c >= threshold[key])) continue;
      const row = rows[r];
      if (store.offer(key, c, row.paragraph, row.window, t)) touched.add(row.paragraph);
    }
  }
  return { candidates: positions };
}
