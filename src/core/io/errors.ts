/** How a failed system call reads in an error message: the errno code and what it means. */
const MEANING: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ELOOP: 'is a symbolic link',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

export function ioErrorMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && MEANING[code]) return `${code} (${MEANING[code]})`;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** Wraps a failed write on `file` in an Error that names the file (ENOSPC and the like carry no path of their own). */
export function writeError(file: string, e: unknown): Error {
  return Object.assign(new Error(`cannot write ${file}: ${ioErrorMessage(e)}`), { code: (e as NodeJS.ErrnoException).code, cause: e });
}
