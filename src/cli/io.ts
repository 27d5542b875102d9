/** Where a command writes: the process streams, or a capture in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress may redraw one line only on a terminal. */
  readonly isTTY: boolean;
}

/**
 * A write to a stream whose reader has gone (`ffn-lens inspect … | head -c 10`): the
 * reader has all it wants, so output stops quietly instead of an uncaught EPIPE; the
 * command itself finishes as it would have.
 */
function pipeWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  let watching = false;
  return (text) => {
    if (closed) return;
    if (!watching) {
      watching = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // EPIPE: a pipe's reader left; EIO: the terminal closed (SIGHUP follows)
        if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
        closed = true;
      });
    }
    stream.write(text);
  };
}

const writeOut = pipeWriter(process.stdout);
const writeErr = pipeWriter(process.stderr);

export const processIo: Io = {
  out: writeOut,
  err: writeErr,
  get isTTY() {
    return Boolean(process.stderr.isTTY);
  },
};
