/**
 * The hot loop: every coefficient of a batch against its key's current N-th best.
 * Almost all candidates fail the single threshold comparison, so the cost per token is
 * one read and one compare per memory; heaps are touched only by the few that pass.
 */
import type { HookTensor } from '../../runtime/session';
import type { TopNStore } from './topn';
import type { Batch } from './windows';

export interface ScanStats {
  candidates: number;
}

/**
 * Offers every candidate position of `batch` to the store, layer by layer (`coeffs[l]`
 * is layer l's mlp.coeff output, [rows, seq, dFf]). Adds to `touched` each paragraph that
 * placed an entry, whose tokens must then be kept. Positions holding special tokens
 * (`special[id] === 1`) are not candidates.
 */
export function scanBatch(store: TopNStore, batch: Batch, coeffs: readonly HookTensor[], special: Uint8Array, touched: Set<number>): ScanStats {
  let candidates = 0;
  const rows = batch.rows;
  for (let l = 0; l < coeffs.length; l++) {
    const [nRows, seq, dFf] = coeffs[l].dims;
    if (nRows !== rows.length || seq !== batch.seq) throw new Error(`internal: layer ${l} coefficients are [${coeffs[l].dims}], expected [${rows.length}, ${batch.seq}, …]`);
    const data = coeffs[l].data;
    const keyBase = l * dFf;
    const threshold = store.threshold.subarray(keyBase, keyBase + dFf);
    for (let r = 0; r < rows.length; r++) {
      const { ids, paragraph, window } = rows[r];
      let kept = false;
      for (let t = 0; t < ids.length; t++) {
        if (special[ids[t]]) continue;
        if (l === 0) candidates++;
        const b = (r * seq + t) * dFf;
        // Blocks of 8: one branch per block on the common path (nothing passes) is about
        // twice as fast in V8 as a branch per element; passing blocks are redone singly.
        // `>=`: an equal coefficient may still win its tie by coming earlier.
        let i = 0;
        for (; i + 8 <= dFf; i += 8) {
          if (
            data[b + i] >= threshold[i] ||
            data[b + i + 1] >= threshold[i + 1] ||
            data[b + i + 2] >= threshold[i + 2] ||
            data[b + i + 3] >= threshold[i + 3] ||
            data[b + i + 4] >= threshold[i + 4] ||
            data[b + i + 5] >= threshold[i + 5] ||
            data[b + i + 6] >= threshold[i + 6] ||
            data[b + i + 7] >= threshold[i + 7]
          ) {
            for (let j = i; j < i + 8; j++) if (data[b + j] >= threshold[j] && store.offer(keyBase + j, data[b + j], paragraph, window, t)) kept = true;
          }
        }
        for (; i < dFf; i++) if (data[b + i] >= threshold[i] && store.offer(keyBase + i, data[b + i], paragraph, window, t)) kept = true;
      }
      if (kept) touched.add(paragraph);
    }
  }
  return { candidates };
}
