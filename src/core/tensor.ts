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

/** Transpose a 2-D tensor: [rows, cols] → [cols, rows]. */
export function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[base + c];
  }
  return { data: out, shape: [cols, rows] };
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
