/** One wording of load progress for every shell (CLI line, status bar). */
import type { LoadProgress } from '../model';

const megabytes = (bytes: number) => Math.round(bytes / 2 ** 20).toLocaleString('en-US');

/** The stage's message, with the bytes read when the stage reports them: "reading m 512 / 2,470 MB". */
export function loadProgressText(p: LoadProgress): string {
  return p.bytesTotal ? `${p.message} ${megabytes(p.bytesRead ?? 0)} / ${megabytes(p.bytesTotal)} MB` : p.message;
}
