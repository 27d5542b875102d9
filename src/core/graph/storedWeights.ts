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

/** Rows transposed together: a tile's reads stay in cache while its columns are written out. */
const TILE = 64;

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
    const t = this.byName.get(name);
    if (t?.transposed) return this.transposed(t);
    const { bytes } = this.bytes(name);
    if (t!.dataType !== DataType.FLOAT) throw new Error(`weight "${name}" is not fp32`);
    return { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape: t!.dims };
  }

  /**
   * A weight stored as its transpose (a tied unembedding is the embedding's [vocab, d]
   * table), turned into graph orientation: read 16 MB of rows at a time and written out
   * in tiles of TILE rows, so the result is the only large buffer.
   */
  private transposed(t: StoredTensor): HostTensor {
    const [rows, cols] = t.dims;
    const out = new Float32Array(rows * cols);
    const step = Math.max(TILE, Math.floor((16 << 20) / (4 * cols)));
    for (let r0 = 0; r0 < rows; r0 += step) {
      const n = Math.min(step, rows - r0);
      const b = this.src.read(t.offset + r0 * cols * 4, n * cols * 4);
      const block = new Float32Array(b.buffer, b.byteOffset, n * cols);
      for (let tile = 0; tile < n; tile += TILE) {
        const end = Math.min(n, tile + TILE);
        for (let c = 0; c < cols; c++) {
          const at = c * rows + r0;
          for (let r = tile; r < end; r++) out[at + r] = block[r * cols + c];
        }
      }
    }
    return { data: out, shape: [cols, rows] };
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
