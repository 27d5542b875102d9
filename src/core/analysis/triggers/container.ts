/**
 * The on-disk container of index and checkpoint files: an 8-byte magic, a JSON header,
 * 4-byte-aligned little-endian sections, and a sha256 of everything before it. Files are
 * written to a temporary name and renamed into place, so a reader sees either the old
 * file or the new one, never a torn one; the checksum catches damage from anything else.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeFileAtomic } from '../../io/atomic';
import { openRegularFile, readRegularFile } from '../../io/readFile';

if (os.endianness() !== 'LE') throw new Error('trigger indexes are little-endian; this machine is big-endian');

const HASH_BYTES = 32;

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Header JSON, padded with spaces to a multiple of 4 so the sections after it are aligned. */
function headerBytes(header: unknown): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 4) * 4, 0x20);
  json.copy(padded);
  return padded;
}

export function writeContainer(file: string, magic: string, header: unknown, sections: readonly ArrayBufferView[]): void {
  const head = headerBytes(header);
  const chunks = [Buffer.from(magic, 'latin1'), bytesOf(Uint32Array.of(head.length)), head, ...sections.map(bytesOf)];
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  writeFileAtomic(file, [...chunks, hash.digest()]);
}

/** Sequential reader over the sections of a container. */
export class SectionReader {
  private at: number;
  constructor(
    private readonly buf: ArrayBuffer,
    start: number,
    private readonly end: number,
    private readonly file: string,
  ) {
    this.at = start;
  }

  private take(bytes: number): number {
    if (this.at + bytes > this.end) throw new Error(`${this.file} is damaged: a section runs past the end of the file`);
    const at = this.at;
    this.at += bytes;
    return at;
  }

  u32(n: number): Uint32Array {
    return new Uint32Array(this.buf, this.take(4 * n), n);
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.buf, this.take(4 * n), n);
  }

  done(): void {
    if (this.at !== this.end) throw new Error(`${this.file} is damaged: ${this.end - this.at} unexpected bytes at the end`);
  }
}

/** Reads and verifies a container; the header is returned as parsed JSON for the caller to check. */
export function readContainer(file: string, magic: string, what: string): { header: unknown; sections: SectionReader } {
  const raw = readRegularFile(file, what);
  // a fresh ArrayBuffer: typed-array views need 4-byte alignment
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  const bytes = new Uint8Array(buf);
  if (bytes.length < 12 + HASH_BYTES || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== magic) throw new Error(`${file} is not ${what}`);
  const body = bytes.length - HASH_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, body)).digest();
  if (!digest.equals(bytes.subarray(body))) throw new Error(`${file} is damaged (checksum mismatch); rebuild it`);
  const headLen = new DataView(buf).getUint32(8, true);
  if (12 + headLen > body) throw new Error(`${file} is damaged: its header runs past the end`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headLen)).toString('utf8'));
  } catch {
    throw new Error(`${file} is damaged: its header is not JSON`);
  }
  return { header, sections: new SectionReader(buf, 12 + headLen, body, file) };
}

/** Largest header readContainerHeader accepts: headers hold metadata, never bulk data. */
const MAX_HEADER_BYTES = 64 << 20;

/**
 * Only the JSON header of a container, without reading or verifying the rest: for status
 * displays, which must stay cheap on large indexes. Anything that uses the data reads the
 * whole file with readContainer, which checks it.
 */
export function readContainerHeader(file: string, magic: string, what: string): unknown {
  const { fd } = openRegularFile(file, what);
  try {
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) < 12 || head.toString('latin1', 0, 8) !== magic) throw new Error(`${file} is not ${what}`);
    const len = head.readUInt32LE(8);
    if (len > MAX_HEADER_BYTES) throw new Error(`${file} is damaged: its header claims ${len} bytes`);
    const json = Buffer.alloc(len);
    if (fs.readSync(fd, json, 0, len, 12) < len) throw new Error(`${file} is damaged: its header runs past the end`);
    try {
      return JSON.parse(json.toString('utf8'));
    } catch {
      throw new Error(`${file} is damaged: its header is not JSON`);
    }
  } finally {
    fs.closeSync(fd);
  }
}
