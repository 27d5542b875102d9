/**
 * One writer per output folder. A run that writes a folder (an index, a merge) holds
 * `.ffn-lens.lock` in it: created exclusively, holding the owner's pid, host and process
 * start time. A second writer gets "in use by pid N"; a lock whose process is gone (killed,
 * crashed, or its pid reused by another program) is stale and taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeStaleTemps } from './atomic';
import { writeError } from './errors';

export const LOCK_NAME = '.ffn-lens.lock';

interface LockOwner {
  pid: number;
  host: string;
  /** Linux: the process's start time in clock ticks since boot (tells a reused pid apart). */
  started: string | null;
  since: string;
  /** What the holder is doing, for the message a second writer gets. */
  work?: string;
}

export class FolderInUseError extends Error {}

/** Field 22 of /proc/<pid>/stat, or null where there is no /proc. */
function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // cannot tell: assume it runs
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStart(owner.pid);
  return owner.started === null || started === null || started === owner.started;
}

function readOwner(file: string): { owner: LockOwner | undefined; text: string } | undefined {
  let text: string;
  try {
    // a lock file is tiny; anything else at that name is not a lock FFN Lens wrote
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
    try {
      const buf = Buffer.alloc(1024);
      text = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { owner: undefined, text: '' };
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return { owner: Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : undefined, text };
  } catch {
    return { owner: undefined, text };
  }
}

/**
 * Puts the lock in place with its content already written (a lock seen empty would look
 * stale): written to a private name, then hard-linked to the lock's name, which fails with
 * EEXIST if a lock is there. File systems without hard links get an exclusive create.
 */
function create(file: string, text: string): void {
  const tmp = `${file}.new-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 }); // O_EXCL: never through a planted link
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    fs.writeFileSync(file, text, { flag: 'wx', mode: 0o644 });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export interface FolderLock {
  readonly file: string;
  /** Removes the lock if it is still this process's; safe to call twice. */
  release(): void;
}

/**
 * Locks `dir` (which must exist) for writing by this process; `what` names this work in
 * the error a second writer gets.
 */
export function lockFolder(dir: string, what: string): FolderLock {
  const file = path.join(dir, LOCK_NAME);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: processStart(process.pid), since: new Date().toISOString(), work: what };
  const text = JSON.stringify(me);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      create(file, text);
      // the folder is ours now: temp files of writers that were killed mid-write are stale
      removeStaleTemps(dir);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          if (readOwner(file)?.text === text) fs.rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(file, e);
    }
    const held = readOwner(file);
    if (!held) continue; // released in between: try again
    if (held.owner && alive(held.owner)) {
      const o = held.owner;
      const host = o.host === os.hostname() ? '' : ` on ${o.host}`;
      throw new FolderInUseError(`${dir} is in use by pid ${o.pid}${host} (${o.work ?? 'FFN Lens'}, since ${o.since}); wait for it to finish or stop it. If no such process runs, delete ${file}`);
    }
    if (!held.owner && held.text === '' && fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() === false) {
      throw new FolderInUseError(`${file} is not a lock file FFN Lens wrote; remove it and run again`);
    }
    // stale: move it aside under a unique name, then check that what moved is the stale
    // lock and not one another process created in between (if so, put it back)
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue;
    }
    if (readOwner(aside)?.text !== held.text) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // someone else locked meanwhile: their lock stands, ours is retried below
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new FolderInUseError(`${dir} is in use: could not take its lock ${file}`);
}
