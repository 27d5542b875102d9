/** Top-k selection over a strided slice of a Float32Array, without sorting the slice. */

export interface Scored {
  index: number;
  value: number;
}

/**
 * The k largest of data[offset .. offset+length), largest first; ties keep the lower
 * index first so results are deterministic.
 */
export function topK(data: Float32Array, offset: number, length: number, k: number, sign: 1 | -1 = 1): Scored[] {
  const n = Math.min(k, length);
  if (n <= 0) return [];
  // `best` is kept sorted descending; a candidate enters only if it beats the last
  const best: Scored[] = [];
  for (let i = 0; i < length; i++) {
    const v = sign * data[offset + i];
    if (Number.isNaN(v)) continue;
    if (best.length === n && v <= best[n - 1].value) continue;
    let j = best.length < n ? best.length : n - 1;
    if (best.length < n) best.push({ index: i, value: v });
    while (j > 0 && best[j - 1].value < v) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = { index: i, value: v };
  }
  return sign === 1 ? best : best.map((s) => ({ index: s.index, value: -s.value }));
}

/**
 * The k entries of largest |value|, largest first, with their signed values: for gated
 * FFNs, where a strongly negative coefficient matters as much as a strongly positive one.
 */
export function topKByMagnitude(data: Float32Array, offset: number, length: number, k: number): Scored[] {
  const abs = new Float32Array(length);
  for (let i = 0; i < length; i++) abs[i] = Math.abs(data[offset + i]);
  return topK(abs, 0, length, k).map((s) => ({ index: s.index, value: data[offset + s.index] }));
}

/** log Σ exp over a slice, computed stably. */
export function logSumExp(data: Float32Array, offset: number, length: number): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) if (data[offset + i] > max) max = data[offset + i];
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(data[offset + i] - max);
  return max + Math.log(sum);
}
