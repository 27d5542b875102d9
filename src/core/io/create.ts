/**
 * Opening files FFN Lens creates and writes in place (the token spool of an index run),
 * as opposed to files written whole (atomic.ts). The name is never followed if it is a
 * symbolic link (O_NOFOLLOW), and what is opened must be a regular file with one link,
 * so a link planted in an output folder cannot redirect the writes to another file.
 */
import * as fs from 'node:fs';
import { ioErrorMessage, writeError } from './errors';

const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

function checkOpened(fd: number, file: string): number {
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.nlink !== 1) {
    fs.closeSync(fd);
    throw new Error(`${file} is not a plain file (${st.isFile() ? `${st.nlink} hard links` : 'a special file'}); FFN Lens will not write through it; remove it and run again`);
  }
  return fd;
}

/** Creates `file` afresh for reading and writing; whatever was at that name (a link included) is removed first, never followed. */
export function createFresh(file: string): number {
  try {
    fs.rmSync(file, { force: true });
    return checkOpened(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | NOFOLLOW, 0o644), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    throw writeError(file, e);
  }
}

/** Opens an existing file the tool made earlier for reading and writing, refusing a symbolic link. */
export function reopenOwn(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`${file} is a symbolic link; FFN Lens will not write through it; remove it and start again`);
    throw new Error(`cannot open ${file}: ${ioErrorMessage(e)}`);
  }
  return checkOpened(fd, file);
}
