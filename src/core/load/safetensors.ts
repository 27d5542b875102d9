/**
 * safetensors reading (validated) and writing.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header, then the data
 * block. Every header entry is checked before any tensor is touched, so a corrupt
 * file fails with a message instead of reading garbage or past the buffer.
 */
import * as fs from 'node:fs';
import type { HostTensor } from '../tensor';
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

/** Parses and validates the header; returns the entries and where the data block starts. */
export function parseHeader(buf: Uint8Array, source: string): { entries: Map<string, TensorEntry>; dataStart: number; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: not a valid safetensors file (${why})`);
  };
  if (buf.byteLength < 8) fail(`${buf.byteLength} bytes is too short for the header length`);
  const headerLen = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > buf.byteLength) fail(`header length ${headerLen} exceeds the file size ${buf.byteLength}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
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

export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  switch (dtype) {
    case 'F32': {
      const b = aligned(bytes, 4);
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
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

/** One safetensors file held in memory. */
export class SafetensorsFile {
  readonly entries: Map<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  /** `contents`: the whole file as read, kept so the model hash needs no second read. */
  constructor(readonly contents: Uint8Array, readonly source: string) {
    const h = parseHeader(contents, source);
    this.entries = h.entries;
    this.dataStart = h.dataStart;
    this.metadata = h.metadata;
  }

  static open(path: string): SafetensorsFile {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(path);
    } catch (e) {
      throw new SafetensorsError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return new SafetensorsFile(buf, path);
  }

  bytes(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(`${this.source}: no tensor "${name}"`);
    return this.contents.subarray(this.dataStart + e.begin, this.dataStart + e.end);
  }

  get(name: string): HostTensor {
    const e = this.entries.get(name)!;
    return { data: toFloat32(this.bytes(name), e.dtype), shape: e.shape };
  }

  /** Raw int64 contents (for token ids in reference files). */
  getInt64(name: string): bigint[] {
    const e = this.entries.get(name);
    if (!e || e.dtype !== 'I64') throw new SafetensorsError(`${this.source}: no int64 tensor "${name}"`);
    const b = aligned(this.bytes(name), 8);
    return [...new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8)];
  }
}

/** A WeightStore over one or more safetensors shards. */
export class SafetensorsWeightStore implements WeightStore {
  private readonly owner = new Map<string, SafetensorsFile>();

  constructor(files: SafetensorsFile[]) {
    for (const f of files) for (const name of f.entries.keys()) this.owner.set(name, f);
  }

  names(): string[] {
    return [...this.owner.keys()];
  }
  has(name: string): boolean {
    return this.owner.has(name);
  }
  get(name: string): HostTensor {
    const f = this.owner.get(name);
    if (!f) throw new SafetensorsError(`checkpoint has no tensor "${name}"`);
    return f.get(name);
  }
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Serialises fp32 tensors (8-byte aligned data, as the format recommends). */
export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const len = t.data.byteLength;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((8 + json.byteLength) % 8)) % 8;
  const headerBytes = new Uint8Array(json.byteLength + pad).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
