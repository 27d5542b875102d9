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

/** `.NAME.tmp-PID-N`: the temporary names writeFileAtomic gives. */
const TEMP_NAME = /^\..+\.tmp-(\d+)-\d+$/;

/**
 * Removes the temporary files that writers killed mid-write (SIGKILL, power loss) left in
 * `dir`. Only for a folder this process has locked, so no live writer owns them; a temp
 * file of a process that still runs is kept all the same.
 */
export function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** A fresh temporary name beside `file`, of the form removeStaleTemps recognises. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${counter++}`);
}

/** Writes `chunks` to `file` atomically; throws an Error naming the file and the cause. */
export function writeFileAtomic(file: string, chunks: readonly (Uint8Array | string)[]): void {
  const tmp = tempPathFor(file);
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
