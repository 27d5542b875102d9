/**
 * The one writer of a graph's external data file: weights appended at page-aligned
 * offsets (so onnxruntime may map them in place), or continuing the previous write when a
 * weight arrives in bands. Used by the graph cache and by temporary analysis graphs.
 */
import * as fs from 'node:fs';
import type { ExternalRef } from '../onnx/model';
import type { WeightSink } from './builder';

/** Offsets in the data file are page-aligned so onnxruntime may map weights in place. */
const ALIGN = 4096;

export class DataFileSink implements WeightSink {
  private readonly fd: number;
  private size_ = 0;
  private closed = false;

  /**
   * Creates `file` exclusively (never following or reusing something already there);
   * `location` is the name the graph refers to it by, `onBytes` sees every byte written.
   */
  constructor(
    readonly file: string,
    private readonly location: string,
    private readonly onBytes?: (bytes: Uint8Array) => void,
  ) {
    this.fd = fs.openSync(file, 'wx', 0o644);
  }

  get size(): number {
    return this.size_;
  }

  private append(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done, this.size_ + done);
    this.size_ += bytes.byteLength;
    this.onBytes?.(bytes);
  }

  write(bytes: Uint8Array, continues = false): ExternalRef {
    const pad = continues ? 0 : (ALIGN - (this.size_ % ALIGN)) % ALIGN;
    if (pad) this.append(new Uint8Array(pad));
    const offset = this.size_;
    this.append(bytes);
    return { location: this.location, offset, length: bytes.byteLength };
  }

  /** Closes the file, fsynced first when it must survive a crash. */
  close(sync: boolean): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (sync) fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
