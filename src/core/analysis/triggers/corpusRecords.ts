/**
 * Streams one corpus file as records of text, whatever its format, and hashes the bytes on
 * disk as it goes (the compressed bytes for gzip: the file as the user has it).
 *
 * - plain text: one record, delivered in chunks; a NUL byte or invalid UTF-8 refuses the file.
 * - JSON Lines: one record per line, its text in a string field; a line that is not JSON,
 *   not UTF-8, longer than MAX_RECORD_BYTES or without that field is skipped and reported
 *   with its line number (1-based). A NUL byte still refuses the file as binary.
 * - gzip of either: decompressed as a stream, so memory does not grow with the file.
 * - Parquet: one record per row of a string column, read a row group at a time; a null or
 *   non-string value is skipped and reported with its row (0-based, as pandas and Arrow count).
 */
import { createHash, type Hash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { CorpusError, type CorpusFormat } from './corpusFiles';
import { READ_NONBLOCKING } from '../../io/readFile';

export type RecordEvent =
  /** More text of the current record. */
  | { text: string }
  /** The current record ends: a paragraph boundary. */
  | { end: true }
  /** A malformed record, skipped. */
  | { skip: { where: string; reason: string } };

/** Hash and size of the bytes read from disk. */
export class ByteTally {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  add(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

const CHUNK = 1 << 20;
/** A JSON Lines record longer than this is skipped rather than held in memory. */
export const MAX_RECORD_BYTES = 64 << 20;

/** The file's bytes in chunks of fresh buffers (a consumer may hold them), tallied as read. */
async function* fileChunks(file: string, tally: ByteTally, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, READ_NONBLOCKING);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, tally.bytes);
      if (bytesRead === 0) return;
      const chunk = buf.subarray(0, bytesRead);
      tally.add(chunk);
      yield chunk;
    }
  } finally {
    await fh.close();
  }
}

async function* gunzip(source: AsyncIterable<Buffer>, file: string): AsyncGenerator<Buffer> {
  const out = pipeline(Readable.from(source), zlib.createGunzip(), () => {});
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (e) {
    if (e instanceof CorpusError || (e as Error).name === 'AbortError' || (e as NodeJS.ErrnoException).syscall) throw e;
    throw new CorpusError(`${file} is not valid gzip data (${(e as Error).message})`);
  } finally {
    out.destroy();
  }
}

function refuseBinary(chunk: Buffer, offset: number, file: string, compressed: boolean): void {
  const nul = chunk.indexOf(0);
  if (nul >= 0) throw new CorpusError(`${file} looks binary (a NUL byte at offset ${offset + nul}${compressed ? ' of its decompressed content' : ''}); the corpus must be UTF-8 text`);
}

async function* textRecords(bytes: AsyncIterable<Buffer>, file: string, compressed: boolean): AsyncGenerator<RecordEvent> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  for await (const chunk of bytes) {
    refuseBinary(chunk, offset, file, compressed);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new CorpusError(`${file} is not valid UTF-8 (bad bytes in ${offset}..${offset + chunk.length}${compressed ? ' of its decompressed content' : ''}); convert it to UTF-8 first`);
    }
    offset += chunk.length;
    yield { text };
  }
  try {
    yield { text: decoder.decode() };
  } catch {
    throw new CorpusError(`${file} is not valid UTF-8 (it ends inside a multi-byte character)`);
  }
  yield { end: true };
}

/** One JSON Lines record: its text, or why it was skipped. */
function jsonRecord(line: Buffer, field: string): string | { reason: string } {
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(line);
  } catch {
    return { reason: 'not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    return { reason: `not JSON (${(e as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: `not a JSON object` };
  const text = (value as Record<string, unknown>)[field];
  if (text === undefined) return { reason: `no "${field}" field (fields: ${Object.keys(value).slice(0, 8).join(', ') || 'none'})` };
  if (typeof text !== 'string') return { reason: `"${field}" is ${text === null ? 'null' : `a ${typeof text}`}, not a string` };
  return text;
}

async function* jsonlRecords(bytes: AsyncIterable<Buffer>, file: string, field: string, compressed: boolean): AsyncGenerator<RecordEvent> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;
  let line = 1;
  let offset = 0;
  function* finish(): Generator<RecordEvent> {
    const where = `line ${line}`;
    if (tooLong) yield { skip: { where, reason: `longer than ${MAX_RECORD_BYTES >> 20} MiB` } };
    else {
      const bytes = Buffer.concat(parts, partBytes);
      if (/\S/.test(bytes.toString('latin1'))) {
        const r = jsonRecord(bytes, field);
        if (typeof r === 'string') yield* [{ text: r }, { end: true } as const];
        else yield { skip: { where, reason: r.reason } };
      }
    }
    parts = [];
    partBytes = 0;
    tooLong = false;
    line++;
  }
  const append = (b: Buffer) => {
    if (tooLong || b.length === 0) return;
    if (partBytes + b.length > MAX_RECORD_BYTES) {
      tooLong = true;
      parts = [];
      partBytes = 0;
      return;
    }
    parts.push(b);
    partBytes += b.length;
  };
  for await (const chunk of bytes) {
    refuseBinary(chunk, offset, file, compressed);
    offset += chunk.length;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      append(chunk.subarray(start, nl));
      yield* finish();
      start = nl + 1;
    }
    append(chunk.subarray(start));
  }
  if (partBytes > 0 || tooLong) yield* finish();
}

/** Parquet codecs node's zlib can decode; hyparquet itself handles SNAPPY and UNCOMPRESSED. */
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => new Uint8Array(zlib.gunzipSync(input)),
  BROTLI: (input: Uint8Array) => new Uint8Array(zlib.brotliDecompressSync(input)),
};

async function* parquetRecords(file: string, field: string, tally: ByteTally, signal?: AbortSignal): AsyncGenerator<RecordEvent> {
  // hash first: rows are read by random access, not as one stream
  for await (const _ of fileChunks(file, tally, signal));
  const hp = await import('hyparquet');
  const source = await hp.asyncBufferFromFile(file);
  let metadata: Awaited<ReturnType<typeof hp.parquetMetadataAsync>>;
  try {
    metadata = await hp.parquetMetadataAsync(source);
  } catch (e) {
    throw new CorpusError(`${file} is not a readable Parquet file (${(e as Error).message})`);
  }
  const columns = hp.parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(field)) throw new CorpusError(`${file} has no column "${field}" (its columns: ${columns.join(', ')}); choose the text column with --text-field`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let row = 0;
  for (const group of metadata.row_groups) {
    signal?.throwIfAborted();
    const n = Number(group.num_rows);
    let values: unknown[];
    try {
      const rows = (await hp.parquetReadObjects({ file: source, metadata, columns: [field], rowStart: row, rowEnd: row + n, compressors: COMPRESSORS })) as Record<string, unknown>[];
      values = rows.map((r) => r[field]);
    } catch (e) {
      throw new CorpusError(`${file}: cannot read rows ${row}..${row + n - 1} of column "${field}" (${(e as Error).message})`);
    }
    for (const v of values) {
      const where = `row ${row++}`;
      if (typeof v === 'string') yield* [{ text: v }, { end: true } as const];
      else if (v instanceof Uint8Array) {
        let text: string | undefined;
        try {
          text = decoder.decode(v);
        } catch {
          yield { skip: { where, reason: 'not valid UTF-8' } };
        }
        if (text !== undefined) yield* [{ text }, { end: true } as const];
      } else yield { skip: { where, reason: v === null || v === undefined ? `"${field}" is null` : `"${field}" is a ${typeof v}, not text` } };
    }
  }
}

/** The records of one file; `tally` ends holding the hash and size of its bytes on disk. */
export function fileRecords(file: string, format: CorpusFormat, field: string, tally: ByteTally, signal?: AbortSignal): AsyncGenerator<RecordEvent> {
  if (format === 'parquet') return parquetRecords(file, field, tally, signal);
  const compressed = format.endsWith('.gz');
  const raw = fileChunks(file, tally, signal);
  const bytes = compressed ? gunzip(raw, file) : raw;
  return format.startsWith('jsonl') ? jsonlRecords(bytes, file, field, compressed) : textRecords(bytes, file, compressed);
}
