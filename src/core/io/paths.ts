/**
 * Paths that come from files or servers FFN Lens does not control (a checkpoint's
 * weight_map, a hub's index, an index header) are names relative to a folder the user
 * chose. They are resolved here and must stay inside that folder: `../../etc/passwd` or
 * an absolute path is an error, never a file to open or write.
 */
import * as path from 'node:path';

export class UnsafePathError extends Error {}

/** `name` resolved inside `root`; throws an UnsafePathError naming `what` if it would leave it. */
export function containedPath(root: string, name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new UnsafePathError(`${what}: expected a file name, got ${JSON.stringify(name)}`);
  const fail = (): never => {
    throw new UnsafePathError(`${what}: the file name ${JSON.stringify(name)} points outside ${root}; refusing it`);
  };
  if (name.includes('\0') || path.isAbsolute(name) || path.win32.isAbsolute(name)) fail();
  const base = path.resolve(root);
  const full = path.resolve(base, name);
  const rel = path.relative(base, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) fail();
  return full;
}
