/**
 * Windows and batches. A paragraph's tokens are cut into consecutive windows of at most
 * W tokens, each run from position 0. Windows are grouped into batches of similar length
 * (right-padded; attention is causal, so padding never reaches earlier positions), which
 * keeps the padding waste small when short headings and long paragraphs are mixed.
 */

export interface Window {
  paragraph: number;
  /** Window number within its paragraph. */
  window: number;
  ids: number[];
}

export interface Batch {
  rows: Window[];
  /** Padded length of every row. */
  seq: number;
}

/** How many tokens (rows × padded length) one forward pass handles, and at most how many rows. */
export interface BatchLimits {
  tokens: number;
  rows: number;
}

export const DEFAULT_BATCH: BatchLimits = { tokens: 2048, rows: 128 };

export function windowsOf(paragraph: number, ids: readonly number[], size: number): Window[] {
  const out: Window[] = [];
  for (let start = 0, w = 0; start < ids.length; start += size, w++) out.push({ paragraph, window: w, ids: ids.slice(start, start + size) });
  return out;
}

/**
 * Longest windows first, each batch as many rows as the token budget allows at the
 * length of its longest row. The order of the input only breaks length ties, so the
 * plan is deterministic; the results do not depend on it (rows are independent).
 */
export function planBatches(windows: readonly Window[], limits: BatchLimits = DEFAULT_BATCH): Batch[] {
  const sorted = windows.map((w, i) => ({ w, i })).sort((a, b) => b.w.ids.length - a.w.ids.length || a.i - b.i);
  const batches: Batch[] = [];
  let current: Batch | undefined;
  for (const { w } of sorted) {
    if (!current || (current.rows.length + 1) * current.seq > limits.tokens || current.rows.length >= limits.rows) {
      current = { rows: [], seq: w.ids.length };
      batches.push(current);
    }
    current.rows.push(w);
  }
  return batches;
}

/** The batch's token ids, each row right-padded with token 0 (any valid id would do). */
export function paddedIds(batch: Batch): number[][] {
  return batch.rows.map((r) => (r.ids.length === batch.seq ? r.ids : [...r.ids, ...new Array<number>(batch.seq - r.ids.length).fill(0)]));
}
