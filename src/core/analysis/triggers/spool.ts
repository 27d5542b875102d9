/**
 * The token spool: an append-only file of (paragraph, length, ids…) records, one per
 * paragraph that placed at least one entry in some key's top-N when it was processed.
 * A paragraph that placed none can never be referenced later (entries only get evicted),
 * so only these need their tokens kept; on disk, so memory stays bounded. At the end the
 * paragraphs the final entries point into are read back.
 */
import * as fs from 'node:fs';
import type { ParagraphTokens } from './format';

export class TokenSpool {
  private constructor(
    private readonly fd: number,
    private bytes: number,
  ) {}

  /** Opens the spool, discarding anything past `validBytes` (left by an interrupted run). */
  static open(file: string, validBytes: number): TokenSpool {
    if (validBytes === 0) fs.writeFileSync(file, new Uint8Array(0));
    else {
      const size = fs.existsSync(file) ? fs.statSync(file).size : -1;
      if (size < validBytes) throw new Error(`${file} is shorter than its checkpoint says (${size} < ${validBytes} bytes); start the index again without --resume`);
      fs.truncateSync(file, validBytes);
    }
    return new TokenSpool(fs.openSync(file, 'r+'), validBytes);
  }

  get size(): number {
    return this.bytes;
  }

  append(paragraph: number, ids: readonly number[]): void {
    const rec = new Uint32Array(2 + ids.length);
    rec[0] = paragraph;
    rec[1] = ids.length;
    rec.set(ids, 2);
    const buf = new Uint8Array(rec.buffer);
    fs.writeSync(this.fd, buf, 0, buf.length, this.bytes);
    this.bytes += buf.length;
  }

  /** Makes the records durable before a checkpoint refers to them. */
  sync(): void {
    fs.fdatasyncSync(this.fd);
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
      if (!ids) throw new Error(`internal: the token spool lacks paragraph ${p}`);
      offsets[i + 1] = offsets[i] + ids.length;
    });
    const ids = new Uint32Array(offsets[paragraphs.length]);
    paragraphs.forEach((p, i) => ids.set(found.get(p)!, offsets[i]));
    return { paragraphs, offsets, ids };
  }
}
