/** Progress of multi-stage work (decoding values, statistics) as lines on stderr. */
import type { Io } from './io';

/**
 * A reporter for (stage, fraction?) updates: a terminal gets one redrawn line, a log
 * one line per stage (at its start and end), so redirected output stays short.
 */
export function stageReporter(io: Io, quiet: boolean): (stage: string, fraction?: number) => void {
  let last = '';
  let open = false;
  return (stage, fraction) => {
    if (quiet) return;
    const line = fraction === undefined ? stage : `${stage} ${(100 * fraction).toFixed(0)}%`;
    if (line === last) return;
    last = line;
    if (io.isTTY) {
      io.err(`\r\x1b[K${line}`);
      open = fraction !== undefined && fraction < 1;
      if (!open) io.err('\n');
    } else if (fraction === undefined || fraction >= 1) io.err(line + '\n');
  };
}
