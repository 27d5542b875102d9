/**
 * A minimal protobuf encoder: just the wire types ONNX's ModelProto uses.
 *
 * Messages are built as lists of chunks rather than one growing buffer, so that
 * multi-megabyte weight blobs are referenced, never copied, until the final
 * `toBytes()` joins everything once.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch: number[] = [];
  private byteLength = 0;

  get length(): number {
    return this.byteLength + this.scratch.length;
  }

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      this.parts.push(Uint8Array.from(this.scratch));
      this.byteLength += this.scratch.length;
      this.scratch = [];
    }
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.byteLength);
    this.flushScratch();
    this.parts.push(value);
    this.byteLength += value.byteLength;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.flushScratch();
    value.flushScratch();
    this.parts.push(...value.parts);
    this.byteLength += value.byteLength;
    return this;
  }

  /** Packed repeated int64 (proto3 default for repeated scalars). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    inner.flushScratch();
    this.tag(field, WIRE_LEN);
    this.varint(inner.length);
    this.flushScratch();
    this.parts.push(...inner.parts);
    this.byteLength += inner.byteLength;
    return this;
  }

  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** The encoded message as consecutive pieces, for streaming to a file without joining. */
  chunks(): Uint8Array[] {
    this.flushScratch();
    return this.parts;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const p of this.chunks()) {
      out.set(p, offset);
      offset += p.byteLength;
    }
    return out;
  }
}
