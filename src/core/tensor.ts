/** Host-side fp32 tensors: what loaders produce and graph builders consume. */
export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

export function tensor(data: Float32Array, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`tensor: shape [${shape}] needs ${n} values, got ${data.length}`);
  return { data, shape };
}

/**
 * A tensor whose values are computed (read from disk, converted) when `data` is first
 * read, and can be dropped again with `release()`. Checkpoint loaders hand these out so a
 * whole model can be described (shapes, for validation) while at most the tensors being
 * written are in memory: the graph builder releases each one once it is on disk.
 */
export class LazyTensor implements HostTensor {
  private values?: Float32Array;

  constructor(
    readonly shape: number[],
    private readonly compute: () => Float32Array,
  ) {}

  get data(): Float32Array {
    if (!this.values) {
      const v = this.compute();
      const n = this.shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new Error(`tensor: shape [${this.shape}] needs ${n} values, got ${v.length}`);
      this.values = v;
    }
    return this.values;
  }

  /** Forgets the values; the next read of `data` computes them again. */
  release(): void {
    this.values = undefined;
  }
}

/** Frees a lazy tensor's values (a no-op for plain tensors, which the caller owns). */
export function release(t: HostTensor): void {
  if (t instanceof LazyTensor) t.release();
}

function transposeValues(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
  }
  return out;
}

/** Lazy transposes → what they transpose (see transposedSource). */
const sources = new WeakMap<HostTensor, HostTensor>();

/**
 * The tensor a lazy transpose2d was made of, so a consumer that can use the other
 * orientation (a Gemm with transB, row-wise quantization) reads it as it is and never
 * materialises the transposed copy.
 */
export function transposedSource(t: HostTensor): HostTensor | undefined {
  return sources.get(t);
}

/**
 * Transpose a 2-D tensor: [rows, cols] → [cols, rows]. A lazy tensor stays lazy (its
 * source is read, transposed and released when the result's values are first needed).
 */
export function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  if (t instanceof LazyTensor) {
    const lazy = new LazyTensor([cols, rows], () => {
      const out = transposeValues(t.data, rows, cols);
      t.release();
      return out;
    });
    sources.set(lazy, t);
    return lazy;
  }
  return { data: transposeValues(t.data, rows, cols), shape: [cols, rows] };
}

/** Rows [start, end) of a 2-D tensor (or elements of a 1-D one), copied. */
export function sliceRows(t: HostTensor, start: number, end: number): HostTensor {
  const rowSize = t.shape.length > 1 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  return { data: t.data.slice(start * rowSize, end * rowSize), shape: [end - start, ...t.shape.slice(1)] };
}

/** Row-wise concatenation of tensors that agree on every dimension but the first. */
export function concatRows(parts: HostTensor[]): HostTensor {
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { data, shape: [parts.reduce((a, p) => a + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}
