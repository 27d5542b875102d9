/**
 * The hot loop. The graph has already dropped every coefficient below its key's N-th
 * best as of the batch's start (and, for a signed index, above the negative side's N-th
 * most negative; see candidateHook), so once the heaps are full what arrives here is a
 * small superset of what can enter them; each candidate is still compared with the key's
 * current threshold on each side (one comparison a side), which only rises during the batch.
 */
import type { HookTensor } from '../../runtime/session';
import type { TopNStores } from './topn';
import type { Batch } from './windows';

export interface ScanStats {
  candidates: number;
}

/** Per layer, what the graph's candidate filter keeps (RunOptions.candidateFloors / candidateCeilings). */
export interface CandidateBounds {
  floors: Float32Array[];
  /** A signed index's: keep m ≤ ceiling too (−the negative side's threshold); undefined when unsigned. */
  ceilings?: Float32Array[];
}

/**
 * The bounds to run a batch with: each layer's thresholds as they stand, copied since the
 * stores raise them while the batch is scanned.
 */
export function candidateBounds(stores: TopNStores, nLayers: number): CandidateBounds {
  const dFf = stores.positive.nKeys / nLayers;
  const perLayer = (a: Float32Array) => Array.from({ length: nLayers }, (_, l) => a.slice(l * dFf, (l + 1) * dFf));
  const negative = stores.negative;
  return { floors: perLayer(stores.positive.threshold), ceilings: negative ? perLayer(negative.threshold.map((t) => -t)) : undefined };
}

/**
 * Offers `batch`'s candidates to the stores, layer by layer (`candidates[l]` is layer l's
 * mlp.candidates output, [n, 4] rows of (row, position, key, coeff) in row-major order,
 * run with bounds at or outside the stores' thresholds). Adds to `touched` each paragraph
 * that placed an entry on either side, whose tokens must then be kept. Positions holding
 * special tokens (`special[id] === 1`) and padding are not candidates. The offers happen
 * in the order a scan of the full coefficients would make them, so the stores end up the same.
 */
export function scanBatch(stores: TopNStores, batch: Batch, candidates: readonly HookTensor[], special: Uint8Array, touched: Set<number>): ScanStats {
  const { rows, seq } = batch;
  const { positive, negative } = stores;
  const dFf = positive.nKeys / candidates.length;
  const above = positive.threshold;
  // the negative side's thresholds are of −m
  const below = negative?.threshold;
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
      if (skip[r * seq + t]) continue;
      const key = keyBase + (data[i + 2] | 0);
      const c = data[i + 3];
      // `>=`: an equal coefficient may still win its tie by coming earlier
      if (c >= above[key] && positive.offer(key, c, rows[r].paragraph, rows[r].window, t)) touched.add(rows[r].paragraph);
      if (below && -c >= below[key] && negative!.offer(key, -c, rows[r].paragraph, rows[r].window, t)) touched.add(rows[r].paragraph);
    }
  }
  return { candidates: positions };
}
