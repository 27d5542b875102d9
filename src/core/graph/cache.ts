/**
 * On-disk cache of built graphs, keyed by the checkpoint's content, the builder version
 * and the precision, so a second load skips conversion and serialisation.
 *
 * An entry is three files: the ONNX protobuf (small), its external weight data (any
 * size) and a JSON record written last, holding the GraphInfo, where each weight sits in
 * the data file, and the size and SHA-256 of both other files. An entry is used only when
 * the record exists and both files match it (size and SHA-256), so a crash mid-write, a full disk or a
 * damaged file means a rebuild, never a corrupt graph handed to onnxruntime.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tryWriteFileAtomic, writeFileAtomic } from '../io/atomic';
import { forEachChunk, openRegularFile } from '../load/fileSource';
import type { ExternalRef } from '../onnx/model';
import type { StoredTensor, WeightSink } from './builder';
import { DataFileSink } from './dataFile';
import type { GraphInfo } from './contract';
import type { Precision } from './quantize';

/** Bump whenever the graph a checkpoint produces changes (past any value a branch used: entries share ~/.cache). */
export const BUILDER_VERSION = 'ffn-lens-graph-13';

export function defaultCacheDir(): string {
  if (process.env.FFN_LENS_CACHE) return process.env.FFN_LENS_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'ffn-lens');
}

/** Bytes in memory, or a file read in chunks (checkpoint shards of any size). */
export type HashPart = Uint8Array | { file: string };

function statKey(file: string): string {
  const st = fs.statSync(file);
  return `${fs.realpathSync(file)}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0${st.dev}`;
}

/**
 * The checkpoint's identity: a hash of its files' bytes alone, so indexes and tables
 * computed from it stay valid when the graph builder changes. Hashing gigabytes takes
 * seconds, so with `memoDir` the result is remembered against each file's path, size,
 * modification time and inode (as make and git do): a file rewritten in place with the
 * same size and mtime would go unnoticed.
 */
export function checkpointHash(parts: HashPart[], memoDir?: string): string {
  let memo: string | undefined;
  if (memoDir) {
    const key = createHash('sha256');
    for (const p of parts) key.update(p instanceof Uint8Array ? p : statKey(p.file)).update('\0');
    memo = path.join(memoDir, 'hashes', key.digest('hex').slice(0, 40));
    try {
      const known = fs.readFileSync(memo, 'utf8');
      if (/^[0-9a-f]{32}$/.test(known)) return known;
    } catch {
      // not remembered yet
    }
  }
  const h = createHash('sha256');
  for (const p of parts) {
    if (p instanceof Uint8Array) {
      h.update(p);
      continue;
    }
    const src = openRegularFile(p.file);
    try {
      forEachChunk(src, (c) => h.update(c));
    } finally {
      src.close();
    }
  }
  const hash = h.digest('hex').slice(0, 32);
  if (memo) tryWriteFileAtomic(memo, [hash]);
  return hash;
}

/** The files of one cache entry. */
export interface GraphEntry {
  onnx: string;
  data: string;
  record: string;
}

/** A built graph depends on the checkpoint, the builder that made it and the precision. */
export function graphEntry(dir: string, hash: string, precision: Precision): GraphEntry {
  const base = path.join(dir, `${hash}-${BUILDER_VERSION}-${precision}`);
  return { onnx: `${base}.onnx`, data: `${base}.onnx.data`, record: `${base}.json` };
}

interface FileCheck {
  size: number;
  sha256: string;
}

/** What the record of an entry holds. */
export interface GraphRecord {
  info: GraphInfo;
  /** Where each weight sits in the data file. */
  tensors: StoredTensor[];
  files: { onnx: FileCheck; data: FileCheck };
}

/*
 * SHA-256, not zlib.crc32: Node 20's crc32 returned wrong running values once optimised
 * (chained over many small chunks it disagreed with the CRC of their concatenation).
 */
function checkFile(file: string): FileCheck {
  const src = openRegularFile(file);
  try {
    const h = createHash('sha256');
    forEachChunk(src, (c) => h.update(c));
    return { size: src.size, sha256: h.digest('hex') };
  } finally {
    src.close();
  }
}

/**
 * The record of a complete, intact entry, or undefined (after removing whatever is
 * there) when it is absent, partial or does not match its checksums.
 */
export function readGraphEntry(entry: GraphEntry): GraphRecord | undefined {
  let record: GraphRecord;
  try {
    record = JSON.parse(fs.readFileSync(entry.record, 'utf8')) as GraphRecord;
  } catch {
    return undefined;
  }
  try {
    const ok =
      typeof record.info?.nLayers === 'number' &&
      Array.isArray(record.tensors) &&
      (['onnx', 'data'] as const).every((k) => {
        const want = record.files?.[k];
        const got = checkFile(entry[k]);
        return want && got.size === want.size && got.sha256 === want.sha256;
      });
    if (ok) return record;
  } catch {
    // a file is missing or unreadable: the entry is incomplete
  }
  removeGraphEntry(entry);
  return undefined;
}

export function removeGraphEntry(entry: GraphEntry): void {
  for (const f of [entry.record, entry.onnx, entry.data]) fs.rmSync(f, { force: true });
}

/**
 * Streams weights into an entry's data file (a temporary name until `commit`), hashing
 * it as it goes so the file is never read back to checksum it.
 */
export class GraphEntryWriter implements WeightSink {
  private readonly tmp: string;
  private readonly data: DataFileSink;
  private readonly hash = createHash('sha256');

  constructor(readonly entry: GraphEntry) {
    fs.mkdirSync(path.dirname(entry.data), { recursive: true });
    this.tmp = `${entry.data}.tmp-${process.pid}-${Date.now()}`;
    this.data = new DataFileSink(this.tmp, path.basename(entry.data), (b) => this.hash.update(b));
  }

  write(bytes: Uint8Array, continues?: boolean): ExternalRef {
    return this.data.write(bytes, continues);
  }

  /** Makes the entry whole: data file, protobuf, then the record that vouches for both. */
  commit(onnx: readonly Uint8Array[], info: GraphInfo, tensors: readonly StoredTensor[]): void {
    this.data.close(true);
    fs.renameSync(this.tmp, this.entry.data);
    writeFileAtomic(this.entry.onnx, onnx);
    const h = createHash('sha256');
    let size = 0;
    for (const c of onnx) {
      h.update(c);
      size += c.byteLength;
    }
    const files = { onnx: { size, sha256: h.digest('hex') }, data: { size: this.data.size, sha256: this.hash.digest('hex') } };
    const record: GraphRecord = { info, tensors: [...tensors], files };
    writeFileAtomic(this.entry.record, [JSON.stringify(record)]);
  }

  /** Drops a half-written entry. */
  abort(): void {
    try {
      this.data.close(false);
    } catch {
      // a failed commit's close: the file goes all the same
    }
    fs.rmSync(this.tmp, { force: true });
    removeGraphEntry(this.entry);
  }
}
