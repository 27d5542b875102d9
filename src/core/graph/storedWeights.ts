/**
 * The weights of a built graph, read back from its external data file: the graph is
 * the canonical model on disk (converted, in graph orientation), so analyses read one
 * layer's keys or values at a time without touching the checkpoint or holding the model.
 * At int8 precision a matrix is stored quantized and read back dequantized: the values
 * the graph computes with.
 */
import type { Linear, Norm } from '../arch/types';
import { openRegularFile, type ByteSource } from '../load/fileSource';
import { DataType } from '../onnx/model';
import type { HostTensor } from '../tensor';
import type { StoredTensor } from './builder';
import { BLOCK, dequantizeInt8, kBlocks, ZERO_POINT } from './quantize';

/** Bytes read at once while transposing a matrix. */
const BAND_BYTES = 16 << 20;

export class StoredWeights {
  private readonly byName: Map<string, StoredTensor>;
  private readonly src: ByteSource;

  constructor(
    readonly dataFile: string,
    tensors: readonly StoredTensor[],
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
    this.src = openRegularFile(dataFile);
  }

  has(name: string): boolean {
    return this.byName.has(name) || this.byName.has(`${name}.q8`);
  }

  private bytes(name: string): { t: StoredTensor; bytes: Uint8Array } {
    const t = this.byName.get(name);
    if (!t) throw new Error(`the built graph has no weight "${name}"`);
    return { t, bytes: this.src.read(t.offset, t.length) };
  }

  /** A weight as fp32 in graph orientation ([in, out] for matrices). */
  get(name: string): HostTensor {
    if (this.byName.has(`${name}.q8`)) {
      const codes = this.bytes(`${name}.q8`);
      const scales = this.bytes(`${name}.scales`).bytes;
      const [N] = codes.t.dims;
      const K = codes.t.K;
      if (K === undefined) throw new Error(`quantized weight "${name}" does not record K`);
      return dequantizeInt8({ K, N, codes: codes.bytes, scales: new Float32Array(scales.buffer, scales.byteOffset, scales.byteLength / 4) });
    }
    const stored = this.byName.get(name);
    // a weight stored as its transpose (a tied unembedding is the embedding's [vocab, d] table, see GraphBuilder.matmulRows)
    if (stored?.transposed && stored.dataType === DataType.FLOAT) return this.transposeBands(stored.offset, stored.dims[0], stored.dims[1]);
    return this.asStored(name);
  }

  /** An fp32 weight as the data file holds it. */
  private asStored(name: string): HostTensor {
    const { t, bytes } = this.bytes(name);
    if (t.dataType !== DataType.FLOAT) throw new Error(`weight "${name}" is not fp32`);
    return { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape: t.dims };
  }

  /** The fp32 value at byte `pos` of the data file. */
  private floatAt(pos: number): number {
    const b = this.src.read(pos, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  /**
   * Row `i` of a [rows, d] table stored row-major (the token embedding), read alone: a
   * position's embedding must not cost reading a 128k-row table. At int8, dequantized.
   */
  row(name: string, i: number): Float32Array {
    const q = this.byName.get(`${name}.q8`);
    if (q) {
      const d = q.K!;
      const kb = kBlocks(d);
      const codes = this.src.read(q.offset + i * kb * BLOCK, d);
      const s = this.byName.get(`${name}.scales`)!;
      const sb = this.src.read(s.offset + i * kb * 4, kb * 4);
      const scales = new Float32Array(sb.buffer, sb.byteOffset, kb);
      return Float32Array.from(codes, (c, k) => (c - ZERO_POINT) * scales[Math.floor(k / BLOCK)]);
    }
    const t = this.byName.get(name);
    if (!t || t.dataType !== DataType.FLOAT || t.dims.length !== 2) throw new Error(`the built graph has no fp32 table "${name}"`);
    const d = t.dims[1];
    const bytes = this.src.read(t.offset + i * d * 4, d * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, d);
  }

  /**
   * A [d, n] matrix as its transpose [n, d] (the unembedding as one row per token), read
   * in bands of rows so that only the result is held, never the matrix beside it. At int8
   * the stored rows already are the transpose's; each is dequantized as `row` reads it.
   */
  transposed(name: string): HostTensor {
    if (!this.byName.has(`${name}.q8`)) {
      // whole fp32 matrices are read in one piece (stored as the transpose already: a Gemm
      // with transB's weight) or in sequential bands of rows; transposedBands' smaller reads
      // and copies made the lens's Eᵀ 1.5× slower to read (1.0 s against 0.68 s at 128,256 × 1,024)
      if (this.byName.get(name)?.transposed) return this.asStored(name);
      const { d, n, offset } = this.matrix(name);
      return this.transposeBands(offset, d, n);
    }
    const { n, d } = this.transposedShape(name);
    const out = new Float32Array(n * d);
    let at = 0;
    for (const band of this.transposedBands(name, 0, n)) {
      out.set(band, at);
      at += band.length;
    }
    return { data: out, shape: [n, d] };
  }

  /** [n, d] of a [d, n] matrix's transpose, however it is stored. */
  private transposedShape(name: string): { n: number; d: number } {
    const q = this.byName.get(`${name}.q8`);
    if (q) return { n: q.dims[0], d: q.K! };
    const t = this.byName.get(name);
    if (t?.transposed) return { n: t.dims[0], d: t.dims[1] };
    const { d, n } = this.matrix(name);
    return { n, d };
  }

  /**
   * Rows [start, end) of `transposed(name)`, in bands of at most BAND_BYTES: a range of
   * tokens of the unembedding, read without the rest of the matrix.
   */
  *transposedBands(name: string, start: number, end: number): Generator<Float32Array> {
    const { n, d } = this.transposedShape(name);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) throw new Error(`rows ${start}..${end} of "${name}" are outside 0..${n}`);
    const quantized = this.byName.has(`${name}.q8`);
    const t = this.byName.get(name);
    const band = Math.max(1, Math.floor(BAND_BYTES / (d * 4)));
    for (let r0 = start; r0 < end; r0 += band) {
      const rows = Math.min(band, end - r0);
      if (quantized) {
        const out = new Float32Array(rows * d);
        for (let r = 0; r < rows; r++) out.set(this.row(name, r0 + r), r * d);
        yield out;
      } else if (t?.transposed) {
        const bytes = this.src.read(t.offset + r0 * d * 4, rows * d * 4);
        yield new Float32Array(bytes.buffer, bytes.byteOffset, rows * d);
      } else yield this.columnBand(name, r0, rows);
    }
  }

  /** Columns [c0, c0 + cols) of an fp32 [d, n] matrix, as cols rows of d values. */
  private columnBand(name: string, c0: number, cols: number): Float32Array {
    const { d, n, offset } = this.matrix(name);
    const out = new Float32Array(cols * d);
    for (let i = 0; i < d; i++) {
      const bytes = this.src.read(offset + (i * n + c0) * 4, cols * 4);
      const f = new Float32Array(bytes.buffer, bytes.byteOffset, cols);
      for (let c = 0; c < cols; c++) out[c * d + i] = f[c];
    }
    return out;
  }

  /** The transpose [cols, rows] of the fp32 [rows, cols] matrix at `offset`, read in bands of rows. */
  private transposeBands(offset: number, rows: number, cols: number): HostTensor {
    const out = new Float32Array(rows * cols);
    const band = Math.max(1, Math.floor(BAND_BYTES / (cols * 4)));
    for (let i0 = 0; i0 < rows; i0 += band) {
      const n = Math.min(band, rows - i0);
      const bytes = this.src.read(offset + i0 * cols * 4, n * cols * 4);
      const f = new Float32Array(bytes.buffer, bytes.byteOffset, n * cols);
      for (let r = 0; r < n; r++) for (let j = 0, o = i0 + r; j < cols; j++, o += rows) out[o] = f[r * cols + j];
    }
    return { data: out, shape: [cols, rows] };
  }

  /** An fp32 [d, n] matrix's place in the data file. */
  private matrix(name: string): { d: number; n: number; offset: number } {
    const t = this.byName.get(name);
    if (!t || t.dataType !== DataType.FLOAT || t.dims.length !== 2) throw new Error(`the built graph has no fp32 matrix "${name}"`);
    return { d: t.dims[0], n: t.dims[1], offset: t.offset };
  }

  /**
   * Column `j` of a [d, n] matrix (the unembedding, one token's direction) and element
   * `j` of its optional bias, read alone: attribution needs one token's column, not the
   * whole vocabulary's. At int8 a column is one quantized row, read as `row` reads it.
   */
  column(prefix: string, j: number): { weight: Float32Array; bias: number } {
    const name = `${prefix}.weight`;
    const biasT = this.byName.get(`${prefix}.bias`);
    const bias = biasT ? this.floatAt(biasT.offset + j * 4) : 0;
    // at int8 a column is one quantized row; a tied unembedding's column is one row of the embedding
    if (this.byName.has(`${name}.q8`) || this.byName.get(name)?.transposed) return { weight: this.row(name, j), bias };
    const { d, n, offset } = this.matrix(name);
    return { weight: Float32Array.from({ length: d }, (_, i) => this.floatAt(offset + (i * n + j) * 4)), bias };
  }

  optional(name: string): HostTensor | undefined {
    return this.has(name) ? this.get(name) : undefined;
  }

  linear(prefix: string): Linear {
    return { weight: this.get(`${prefix}.weight`), bias: this.optional(`${prefix}.bias`) };
  }

  norm(prefix: string): Norm {
    return { weight: this.get(`${prefix}.weight`), bias: this.optional(`${prefix}.bias`) };
  }

  close(): void {
    this.src.close();
  }
}
