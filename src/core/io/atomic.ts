/**
 * The one way FFN Lens writes a file that must be whole or absent (graphs, value tables,
 * indexes, labels, reports, exported activations): a temporary file in the same folder,
 * created exclusively so a pre-placed symlink is never followed, fsynced, then renamed
 * over the target. A reader sees the old file or the new one, never a torn one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeError } from './errors';

let counter = 0;

/** Writes `chunks` to `file` atomically; throws an Error naming the file and the cause. */
export function writeFileAtomic(file: string, chunks: readonly (Uint8Array | string)[]): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${counter++}`);
  try {
    // 'wx' = O_CREAT | O_EXCL: fails on anything already there, a symlink included
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      for (const c of chunks) fs.writeSync(fd, typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, e);
  }
}

/**
 * writeFileAtomic for caches, where writing is an optimisation: false (and nothing
 * written) when the file cannot be written.
 */
export function tryWriteFileAtomic(file: string, chunks: readonly (Uint8Array | string)[]): boolean {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, chunks);
    return true;
  } catch {
    return false;
  }
}
