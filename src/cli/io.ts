/** Where a command writes: the process streams, or a capture in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress may redraw one line only on a terminal. */
  readonly isTTY: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get isTTY() {
    return Boolean(process.stderr.isTTY);
  },
};
