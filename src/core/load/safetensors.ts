/**
 * safetensors reading (validated, tensor by tensor) and writing.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header, then the data
 * block. Every header entry is checked against the file's size before any tensor is
 * touched, so a corrupt file fails with a message instead of reading garbage. Tensors
 * are read one at a time with positioned reads: a checkpoint of any size is never held
 * whole in memory (Node cannot even make a Buffer over 2 GiB).
 */
import * as fs from 'node:fs';
import { LazyTensor, type HostTensor } from '../tensor';
import { openRegularFile, type ByteSource } from './fileSource';
import type { WeightStore } from './weights';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data block. */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface ParsedHeader {
  entries: Map<string, TensorEntry>;
  dataStart: number;
  metadata: Record<string, string>;
}

/** The header's length from the first 8 bytes, checked against the file size. */
export function headerLength(first8: Uint8Array, fileSize: number, source: string): number {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: not a valid safetensors file (${why})`);
  };
  if (fileSize < 8 || first8.byteLength < 8) fail(`${fileSize} bytes is too short for the header length`);
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || 8 + n > fileSize) fail(`header length ${n} exceeds the file size ${fileSize}`);
  return n;
}

/**
 * Parses and validates the header. `prefix` holds at least the first 8 + N bytes of a
 * file of `fileSize` bytes; returns the entries and where the data block starts.
 */
export function parseHeader(prefix: Uint8Array, source: string, fileSize = prefix.byteLength): ParsedHeader {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: not a valid safetensors file (${why})`);
  };
  const headerLen = headerLength(prefix, fileSize, source);
  if (prefix.byteLength < 8 + headerLen) fail(`header length ${headerLen} exceeds the ${prefix.byteLength} bytes given`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = fileSize - dataStart;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) fail(`tensor "${name}" has invalid data_offsets`);
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen) fail(`tensor "${name}" spans bytes ${begin}..${end}, outside the ${dataLen}-byte data block`);
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (expected !== end - begin) fail(`tensor "${name}" has shape [${shape}] × ${dtype} = ${expected} bytes but spans ${end - begin}`);
    entries.set(name, { dtype, shape, begin, end });
  }
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][1].begin < sorted[i - 1][1].end) fail(`tensors "${sorted[i - 1][0]}" and "${sorted[i][0]}" overlap`);
  }
  return { entries, dataStart, metadata };
}

let f16Table: Float32Array | undefined;

/** All 65,536 half-precision values, so conversion is one table lookup per element. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** Copies when the bytes are not aligned for a typed-array view. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/** The tensor's values as fp32. F32 bytes read for this call alone are viewed, not copied (`owned`). */
export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, owned = false): Float32Array {
  switch (dtype) {
    case 'F32': {
      const b = aligned(bytes, 4);
      const view = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      return owned && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? view : view.slice();
    }
    case 'F16': {
      const b = aligned(bytes, 2);
      const src = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      const table = halfTable();
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      const b = aligned(bytes, 2);
      const src = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      const out = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I64': {
      const b = aligned(bytes, 8);
      return Float32Array.from(new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8), Number);
    }
    case 'I32': {
      const b = aligned(bytes, 4);
      return Float32Array.from(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    }
  }
}

/** bf16 bits of fp32 values, rounded to nearest even (as torch's .to(bfloat16)); NaN stays NaN. */
export function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** One safetensors file: header parsed up front, tensors read on demand. */
export class SafetensorsFile {
  readonly entries: Map<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  constructor(
    private readonly src: ByteSource,
    readonly source: string,
  ) {
    const first8 = src.read(0, Math.min(8, src.size));
    const n = headerLength(first8, src.size, source);
    const h = parseHeader(src.read(0, 8 + n), source, src.size);
    this.entries = h.entries;
    this.dataStart = h.dataStart;
    this.metadata = h.metadata;
  }

  /** A file in memory (tests, small files just written). */
  static fromBytes(bytes: Uint8Array, source: string): SafetensorsFile {
    return new SafetensorsFile({ size: bytes.byteLength, read: (pos, len) => bytes.subarray(pos, pos + len), close: () => {} }, source);
  }

  /** Opens a file on disk; only its header is read now. Close it when done. */
  static open(path: string): SafetensorsFile {
    let src: ByteSource;
    try {
      src = openRegularFile(path);
    } catch (e) {
      throw new SafetensorsError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      return new SafetensorsFile(src, path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** The size of the file in bytes. */
  get size(): number {
    return this.src.size;
  }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(`${this.source}: no tensor "${name}"`);
    return e;
  }

  /** The tensor's raw bytes, freshly read. */
  bytes(name: string): Uint8Array {
    const e = this.entry(name);
    return this.src.read(this.dataStart + e.begin, e.end - e.begin);
  }

  get(name: string): HostTensor {
    const e = this.entry(name);
    return { data: toFloat32(this.bytes(name), e.dtype, true), shape: e.shape };
  }

  /** Raw int64 contents (for token ids in reference files). */
  getInt64(name: string): bigint[] {
    const e = this.entry(name);
    if (e.dtype !== 'I64') throw new SafetensorsError(`${this.source}: no int64 tensor "${name}"`);
    const b = aligned(this.bytes(name), 8);
    return [...new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8)];
  }

  close(): void {
    this.src.close();
  }
}

/** A WeightStore over one or more safetensors shards. */
export class SafetensorsWeightStore implements WeightStore {
  private readonly owner = new Map<string, SafetensorsFile>();

  constructor(private readonly files: SafetensorsFile[]) {
    for (const f of files) for (const name of f.entries.keys()) this.owner.set(name, f);
  }

  names(): string[] {
    return [...this.owner.keys()];
  }
  has(name: string): boolean {
    return this.owner.has(name);
  }
  /** Lazy: the shape is known now, the values are read and converted when first used. */
  get(name: string): HostTensor {
    const f = this.owner.get(name);
    if (!f) throw new SafetensorsError(`checkpoint has no tensor "${name}"`);
    return new LazyTensor(f.entries.get(name)!.shape, () => f.get(name).data);
  }
  close(): void {
    for (const f of this.files) f.close();
  }
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a streamed file will hold: names, dtypes and shapes, in order. */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** The header bytes (padded so the data block is 8-byte aligned) and data size of `specs`. */
function encodeHeader(specs: readonly TensorSpec[], metadata: Record<string, string>): { header: Uint8Array; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of specs) {
    const len = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((8 + json.byteLength) % 8)) % 8;
  const out = new Uint8Array(8 + json.byteLength + pad).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength + pad), true);
  out.set(json, 8);
  return { header: out, dataBytes: offset };
}

/** Serialises fp32 tensors (8-byte aligned data, as the format recommends). */
export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const { header, dataBytes } = encodeHeader(tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape })), metadata);
  const out = new Uint8Array(header.byteLength + dataBytes);
  out.set(header);
  let pos = header.byteLength;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file of any size tensor by tensor: `fill` returns each tensor's
 * little-endian bytes in `specs` order, so only one tensor is in memory at a time.
 */
export function writeSafetensorsFile(file: string, specs: readonly TensorSpec[], fill: (spec: TensorSpec) => Uint8Array, metadata: Record<string, string> = {}): void {
  const { header } = encodeHeader(specs, metadata);
  const fd = fs.openSync(file, 'w');
  try {
    let pos = 0;
    const write = (b: Uint8Array) => {
      for (let done = 0; done < b.byteLength; ) done += fs.writeSync(fd, b, done, b.byteLength - done, pos + done);
      pos += b.byteLength;
    };
    write(header);
    for (const s of specs) {
      const bytes = fill(s);
      const want = s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype];
      if (bytes.byteLength !== want) throw new Error(`writeSafetensorsFile: "${s.name}" needs ${want} bytes, got ${bytes.byteLength}`);
      write(bytes);
    }
  } finally {
    fs.closeSync(fd);
  }
}
