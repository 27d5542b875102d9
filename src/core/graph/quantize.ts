/**
 * Weight-only 8-bit block quantization in the layout of onnxruntime's MatMulNBits
 * (com.microsoft): a weight W [K, N] becomes, per output column n and block of
 * BLOCK rows of K, codes q ∈ 0..255 with W ≈ (q − 128) · scale. Symmetric (zero point
 * 128, scale = max|w| / 127), so zero stays exactly zero.
 */
import type { HostTensor } from '../tensor';

export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

/** Rows of K per scale: small blocks keep outliers from coarsening their neighbours. */
export const BLOCK = 32;
export const ZERO_POINT = 128;

export interface Int8Weight {
  K: number;
  N: number;
  /** [N, kBlocks, BLOCK] codes; K is padded with zero codes up to kBlocks · BLOCK. */
  codes: Uint8Array;
  /** [N, kBlocks] */
  scales: Float32Array;
}

export const kBlocks = (K: number): number => Math.ceil(K / BLOCK);

/**
 * Quantizes W [K, N] (row-major, as the graph's MatMul weights are stored). Walks W by
 * rows, one block of BLOCK rows at a time, so reads are sequential; the strided writes of
 * a block stay within a cache-sized window.
 */
export function quantizeInt8(w: HostTensor): Int8Weight {
  const [K, N] = w.shape;
  const src = w.data;
  const kb = kBlocks(K);
  const stride = kb * BLOCK;
  const codes = new Uint8Array(N * stride).fill(ZERO_POINT);
  const scales = new Float32Array(N * kb);
  const max = new Float32Array(N);
  for (let b = 0; b < kb; b++) {
    const end = Math.min(K, (b + 1) * BLOCK);
    max.fill(0);
    for (let k = b * BLOCK; k < end; k++) {
      const row = k * N;
      for (let n = 0; n < N; n++) max[n] = Math.max(max[n], Math.abs(src[row + n]));
    }
    for (let n = 0; n < N; n++) {
      max[n] = max[n] > 0 ? max[n] / 127 : 1;
      scales[n * kb + b] = max[n];
    }
    for (let k = b * BLOCK; k < end; k++) {
      const row = k * N;
      // block b of column n starts at n·stride + b·BLOCK, so row k sits at n·stride + k
      for (let n = 0; n < N; n++) codes[n * stride + k] = ZERO_POINT + Math.max(-127, Math.min(127, Math.round(src[row + n] / max[n])));
    }
  }
  return { K, N, codes, scales };
}

/**
 * Quantizes the rows of a table [V, d] (an embedding) in blocks of BLOCK along d: the
 * same codes and scales as quantizeInt8 of its transpose, laid out so a Gather of rows
 * fetches a row's codes [kBlocks·BLOCK] and scales [kBlocks].
 */
export function quantizeRowsInt8(t: HostTensor): Int8Weight {
  const [V, d] = t.shape;
  const src = t.data;
  const kb = kBlocks(d);
  const stride = kb * BLOCK;
  const codes = new Uint8Array(V * stride).fill(ZERO_POINT);
  const scales = new Float32Array(V * kb);
  for (let v = 0; v < V; v++) {
    for (let b = 0; b < kb; b++) {
      const from = v * d + b * BLOCK;
      const to = v * d + Math.min(d, (b + 1) * BLOCK);
      let max = 0;
      for (let i = from; i < to; i++) max = Math.max(max, Math.abs(src[i]));
      // rounded to fp32 before dividing, as quantizeInt8 does, so the codes are bit for bit its codes
      const scale = max > 0 ? Math.fround(max / 127) : 1;
      scales[v * kb + b] = scale;
      for (let i = from; i < to; i++) codes[v * stride + b * BLOCK + (i - from)] = ZERO_POINT + Math.max(-127, Math.min(127, Math.round(src[i] / scale)));
    }
  }
  return { K: d, N: V, codes, scales };
}

/** The fp32 weight [K, N] an Int8Weight stands for (what the quantized graph computes with). */
export function dequantizeInt8(q: Pick<Int8Weight, 'K' | 'N' | 'codes' | 'scales'>): HostTensor {
  const { K, N, codes, scales } = q;
  const kb = kBlocks(K);
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / BLOCK);
      out[k * N + n] = (codes[n * kb * BLOCK + k] - ZERO_POINT) * scales[n * kb + b];
    }
  }
  return { data: out, shape: [K, N] };
}
