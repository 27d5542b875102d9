/**
 * Bounded, positioned reads of one regular file. Model files are opened once, checked
 * to be regular files (a FIFO or device named as a checkpoint would otherwise hang or
 * stream forever) and read only inside the size fstat reported, so a header that lies
 * about offsets cannot make us read past the file or allocate more than it holds.
 */
import * as fs from 'node:fs';

export interface ByteSource {
  readonly size: number;
  /** `len` bytes at `pos`, in a fresh buffer of exactly that size. */
  read(pos: number, len: number): Uint8Array;
  close(): void;
}

/** One positioned read may return at most this much (Linux caps a read near 2 GiB). */
const MAX_READ = 1 << 30;

/** Opens `file` for reading; throws (ENOENT, EISDIR, …, or ENOTREG) with a code. */
export function openRegularFile(file: string): ByteSource {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  let closed = false;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: st.isDirectory() ? 'EISDIR' : 'ENOTREG' });
    const size = st.size;
    return {
      size,
      read(pos, len) {
        if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(len) && pos >= 0 && len >= 0 && pos + len <= size)) {
          throw new Error(`${file}: read of ${len} bytes at ${pos} is outside its ${size} bytes`);
        }
        const out = new Uint8Array(len);
        for (let done = 0; done < len; ) {
          const n = fs.readSync(fd, out, done, Math.min(MAX_READ, len - done), pos + done);
          if (n === 0) throw new Error(`${file}: ended at ${pos + done} bytes, before the ${size} it had when opened`);
          done += n;
        }
        return out;
      },
      close() {
        if (!closed) fs.closeSync(fd);
        closed = true;
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Calls `each` with consecutive chunks of the whole file (for hashing without holding it). */
export function forEachChunk(src: ByteSource, each: (chunk: Uint8Array) => void, chunkBytes = 16 << 20): void {
  for (let pos = 0; pos < src.size; pos += chunkBytes) each(src.read(pos, Math.min(chunkBytes, src.size - pos)));
}
