/**
 * The token spool: an append-only file of (paragraph, length, ids…) records, one per
 * paragraph that placed at least one entry in some key's top-N when it was processed.
 * A paragraph that placed none can never be referenced later (entries only get evicted),
 * so only these need their tokens kept; on disk, so memory stays bounded. At the end the
 * paragraphs the final entries point into are read back.
 *
 * The file is created afresh or reopened without following links (io/create.ts), and a
 * running sha256 of its valid bytes goes into every checkpoint: a resumed run re-reads
 * the spool once and refuses a damaged one before any work, not at the end.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { createFresh, reopenOwn } from '../../io/create';
import { writeError } from '../../io/errors';
import type { ParagraphTokens } from './format';

/** What a checkpoint knows of the spool it refers to. */
export interface SpoolState {
  bytes: number;
  /** sha256 of the first `bytes` bytes (absent in checkpoints of older versions). */
  sha256?: string;
  /** Every record's paragraph is below this. */
  paragraphLimit: number;
}

const damaged = (file: string, why: string) =>
  new Error(`${file} is damaged (${why}); the checkpoint beside it cannot be resumed: start the index again without --resume`);

export class TokenSpool {
  private constructor(
    private readonly fd: number,
    private bytes: number,
    private readonly hash: Hash,
    readonly file: string,
  ) {}

  /** Starts an empty spool, replacing whatever was at that name. */
  static create(file: string): TokenSpool {
    return new TokenSpool(createFresh(file), 0, createHash('sha256'), file);
  }

  /**
   * Reopens a checkpoint's spool: its records up to `state.bytes` are re-read and checked
   * (structure, and the checksum when the checkpoint has one); anything after them, left
   * by an interrupted run, is discarded.
   */
  static resume(file: string, state: SpoolState): TokenSpool {
    if (!fs.existsSync(file)) throw damaged(file, 'it is missing');
    const fd = reopenOwn(file);
    try {
      const size = fs.fstatSync(fd).size;
      if (size < state.bytes) throw damaged(file, `${size} bytes, shorter than the ${state.bytes} its checkpoint says`);
      const hash = createHash('sha256');
      const head = new Uint32Array(2);
      const headBytes = new Uint8Array(head.buffer);
      let last = -1;
      for (let at = 0; at < state.bytes; ) {
        if (at + 8 > state.bytes || fs.readSync(fd, headBytes, 0, 8, at) !== 8) throw damaged(file, `a record header is cut at byte ${at}`);
        const [p, len] = head;
        const end = at + 8 + 4 * len;
        if (p <= last || p >= state.paragraphLimit || end > state.bytes) throw damaged(file, `an impossible record at byte ${at}`);
        const body = Buffer.allocUnsafe(4 * len);
        if (fs.readSync(fd, body, 0, body.length, at + 8) !== body.length) throw damaged(file, `a record is cut at byte ${at}`);
        hash.update(headBytes).update(body);
        last = p;
        at = end;
      }
      if (state.sha256 !== undefined && hash.copy().digest('hex') !== state.sha256) throw damaged(file, 'its checksum does not match the checkpoint');
      fs.ftruncateSync(fd, state.bytes);
      return new TokenSpool(fd, state.bytes, hash, file);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  get size(): number {
    return this.bytes;
  }

  /** sha256 of the records so far, for the checkpoint. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }

  append(paragraph: number, ids: readonly number[]): void {
    const rec = new Uint32Array(2 + ids.length);
    rec[0] = paragraph;
    rec[1] = ids.length;
    rec.set(ids, 2);
    const buf = new Uint8Array(rec.buffer);
    try {
      for (let done = 0; done < buf.length; ) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.bytes + done);
    } catch (e) {
      throw writeError(this.file, e);
    }
    this.hash.update(buf);
    this.bytes += buf.length;
  }

  /** Makes the records durable before a checkpoint refers to them. */
  sync(): void {
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw writeError(this.file, e);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** The tokens of the wanted paragraphs, read back in one sequential pass. */
  collect(wanted: ReadonlySet<number>): ParagraphTokens {
    const found = new Map<number, Uint32Array>();
    const head = new Uint32Array(2);
    const headBytes = new Uint8Array(head.buffer);
    for (let at = 0; at < this.bytes; ) {
      fs.readSync(this.fd, headBytes, 0, 8, at);
      const [p, len] = head;
      at += 8;
      if (at + 4 * len > this.bytes) throw new Error(`${this.file} is damaged (a record at byte ${at - 8} runs past its end): something else changed the file during the run; start the index again`);
      if (wanted.has(p)) {
        const ids = new Uint32Array(len);
        fs.readSync(this.fd, new Uint8Array(ids.buffer), 0, 4 * len, at);
        found.set(p, ids);
      }
      at += 4 * len;
    }
    const paragraphs = Uint32Array.from([...wanted].sort((a, b) => a - b));
    const offsets = new Uint32Array(paragraphs.length + 1);
    paragraphs.forEach((p, i) => {
      const ids = found.get(p);
      if (!ids) throw new Error(`${this.file} lacks paragraph ${p}: something else changed the file during the run; start the index again`);
      offsets[i + 1] = offsets[i] + ids.length;
    });
    const ids = new Uint32Array(offsets[paragraphs.length]);
    paragraphs.forEach((p, i) => ids.set(found.get(p)!, offsets[i]));
    return { paragraphs, offsets, ids };
  }
}
