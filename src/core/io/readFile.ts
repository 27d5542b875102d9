/**
 * Bounded reads of files FFN Lens did not write (checkpoints, configs, tokenizers, input
 * text, indexes). The file is opened without blocking (a FIFO cannot hang the open), then
 * fstat must say it is a regular file, and exactly the size fstat reported is read: a
 * device such as /dev/zero behind a symlink, a FIFO or a directory is a clear error, and
 * no read can grow without limit.
 */
import * as fs from 'node:fs';
import { ioErrorMessage } from './errors';

export class FileReadError extends Error {}

/** Read-only and non-blocking: opening a FIFO without a writer returns at once (then fstat refuses it). */
export const READ_NONBLOCKING = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface ReadLimits {
  /** Refuse files larger than this (default: no limit beyond the file's own size). */
  maxBytes?: number;
}

/**
 * Opens `file` for reading and checks with fstat that it is a regular file within the
 * limit; returns the descriptor and the size. `what` names the file in errors.
 */
export function openRegularFile(file: string, what: string, limits: ReadLimits = {}): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_NONBLOCKING);
  } catch (e) {
    throw new FileReadError(`cannot read ${what} ${file}: ${ioErrorMessage(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(`${what} ${file} is ${kindOf(st)}, not a regular file; refusing to read it`);
    if (limits.maxBytes !== undefined && st.size > limits.maxBytes) {
      throw new FileReadError(`${what} ${file} is ${st.size} bytes, more than the ${limits.maxBytes} this kind of file may have; refusing to read it`);
    }
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file, read up to the size fstat reported when it was opened. */
export function readRegularFile(file: string, what: string, limits: ReadLimits = {}): Buffer {
  const { fd, size } = openRegularFile(file, what, limits);
  try {
    const buf = Buffer.allocUnsafe(size);
    for (let at = 0; at < size; ) {
      const n = fs.readSync(fd, buf, at, size - at, at);
      if (n === 0) throw new FileReadError(`${what} ${file} shrank while it was being read (${at} of ${size} bytes); is something else writing it?`);
      at += n;
    }
    return buf;
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError(`cannot read ${what} ${file}: ${ioErrorMessage(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws a FileReadError unless `file` is a regular file (for paths handed on to another reader). */
export function checkRegularFile(file: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new FileReadError(`cannot read ${what} ${file}: ${ioErrorMessage(e)}`);
  }
  if (!st.isFile()) throw new FileReadError(`${what} ${file} is ${kindOf(st)}, not a regular file; refusing to read it`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The one rule for text FFN Lens reads (--file, corpus files, JSON files): UTF-8, and
 * invalid UTF-8 is an error naming the file and the byte offset, never a silent U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array, file: string, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new FileReadError(`${what} ${file} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)}); FFN Lens reads text as UTF-8 only`);
  }
}

/** Byte offset of the first invalid UTF-8 sequence (bytes.length when there is none). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // walk the characters by their lead byte; a fatal decode of each checks the rest
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    try {
      strictUtf8.decode(bytes.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return bytes.length;
}

/** A JSON object read from a regular file of bounded size; errors name the file. */
export function readJsonObject(file: string, what: string, maxBytes: number): Record<string, unknown> {
  const text = decodeUtf8(readRegularFile(file, what, { maxBytes }), file, what);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FileReadError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FileReadError(`${what} ${file} is not a JSON object`);
  return v as Record<string, unknown>;
}
