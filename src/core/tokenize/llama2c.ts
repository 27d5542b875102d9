/**
 * The llama2.c tokenizer (tok*.bin): a sentencepiece BPE vocabulary exported as
 * (score, bytes) pairs. encode() reproduces run.c `encode(t, text, bos=1, eos=0)` token for
 * token and decode() what run.c's generate loop prints, so ids match the reference runner.
 */
import { readRegularFile } from '../io/readFile';
import type { Tokenizer, TokenSpan } from './types';

/** Far above any real tok*.bin (32k pieces take ~0.4 MB): a bound, not a format rule. */
const MAX_TOKENIZER_BYTES = 256 * 1024 * 1024;

const UNK = 0;
const BOS = 1;
const EOS = 2;
/** Byte b is token b + 3 (after <unk>, <s>, </s>): sentencepiece byte_fallback. */
const BYTE_OFFSET = 3;
/** run.c starts its best-merge search at this float; merges scoring no higher never happen. */
const NO_MERGE_SCORE = Math.fround(-1e10);
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * Pieces are kept as "binary" strings (one char per byte, U+0000..U+00FF) so that lookup and
 * concatenation are bytewise, exactly like run.c's strcmp/sprintf on raw bytes.
 */
const toBinary = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = BOS;
  readonly eosId = EOS;
  private readonly pieces: string[];
  private readonly lookup = new Map<string, number>();
  private readonly hasByteTokens: boolean;

  constructor(
    pieces: Uint8Array[],
    private readonly scores: Float32Array,
    readonly maxTokenLength: number,
    private readonly source = 'llama2.c tokenizer',
  ) {
    if (pieces.length !== scores.length) throw new Error(`${source}: ${pieces.length} pieces but ${scores.length} scores`);
    if (pieces.length < BYTE_OFFSET) throw new Error(`${source}: a vocabulary needs at least <unk>, <s>, </s>; got ${pieces.length} tokens`);
    this.vocabSize = pieces.length;
    this.pieces = pieces.map(toBinary);
    // First id wins on duplicate pieces (run.c's bsearch would pick an unspecified one; real
    // sentencepiece vocabularies have none).
    this.pieces.forEach((p, id) => {
      if (!this.lookup.has(p)) this.lookup.set(p, id);
    });
    this.hasByteTokens =
      this.vocabSize >= BYTE_OFFSET + 256 &&
      Array.from({ length: 256 }, (_, b) => this.pieces[BYTE_OFFSET + b].toUpperCase() === `<0X${hex2(b)}>`).every(Boolean);
  }

  /**
   * Parse tok*.bin. The file does not record its vocabulary size (run.c takes it from the
   * model), so pass the model's vocab_size to check the pairing; without it every record up
   * to the end of the file is read.
   */
  static parse(buf: Uint8Array, vocabSize: number | undefined, source: string): Llama2cTokenizer {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const fail = (why: string): never => {
      throw new Error(`${source}: not a valid llama2.c tokenizer: ${why}`);
    };
    if (buf.byteLength < 4) fail(`${buf.byteLength} bytes is shorter than the 4-byte header`);
    if (vocabSize !== undefined && !(Number.isInteger(vocabSize) && vocabSize > 0)) fail(`vocab size ${vocabSize} must be a positive integer`);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0) fail(`max_token_length ${maxTokenLength} must be positive`);

    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let off = 4;
    while (vocabSize === undefined ? off < buf.byteLength : pieces.length < vocabSize) {
      const id = pieces.length;
      if (off + 8 > buf.byteLength) fail(`file ends inside the record of token ${id} (offset ${off}, ${buf.byteLength} bytes)`);
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > buf.byteLength) fail(`token ${id} claims ${len} bytes at offset ${off}, past the end of the ${buf.byteLength}-byte file`);
      scores.push(score);
      pieces.push(buf.slice(off, off + len));
      off += len;
    }
    if (off !== buf.byteLength) {
      fail(`${buf.byteLength - off} bytes remain after ${pieces.length} tokens: the file holds more tokens than the model's vocab_size ${vocabSize} (wrong tokenizer for this model?)`);
    }
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength, source);
  }

  static fromFile(path: string, vocabSize?: number): Llama2cTokenizer {
    return Llama2cTokenizer.parse(readRegularFile(path, 'llama2.c tokenizer', { maxBytes: MAX_TOKENIZER_BYTES }), vocabSize, path);
  }

  encode(text: string): number[] {
    return this.encodeWithOffsets(text).map((t) => t.id);
  }

  encodeWithOffsets(text: string): TokenSpan[] {
    const syms = this.initialSymbols(text);
    mergeBestPairs(syms, (l, r) => this.mergeCandidate(l, r));
    const out: TokenSpan[] = [];
    for (let i = 0; i !== -1; i = syms.next[i]) {
      const id = syms.id[i];
      out.push({ id, text: this.tokenText(id), start: syms.start[i], end: syms.end[i] });
    }
    return out;
  }

  decode(ids: number[]): string {
    const bytes: number[] = [];
    let prev = -1;
    for (const id of ids) {
      this.checkId(id);
      if (id !== BOS && id !== EOS) {
        let piece = this.pieces[id];
        // sentencepiece drops the dummy-prefix space of the first piece after BOS (run.c decode).
        if (prev === BOS && piece.startsWith(' ')) piece = piece.slice(1);
        const byte = BYTE_PIECE.exec(piece);
        if (byte) piece = String.fromCharCode(parseInt(byte[1], 16));
        if (printable(piece)) for (let k = 0; k < piece.length; k++) bytes.push(piece.charCodeAt(k));
      }
      prev = id;
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
  }

  tokenText(id: number): string {
    this.checkId(id);
    const piece = this.pieces[id];
    // The file spells BOS/EOS as "\n<s>\n" / "\n</s>\n"; the newlines are noise in a display.
    if (this.isSpecial(id)) return piece.trim();
    const byte = BYTE_PIECE.exec(piece);
    if (byte) {
      const b = parseInt(byte[1], 16);
      // A lone byte of a multi-byte character has no text of its own; show its code.
      return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : piece;
    }
    return utf8(piece);
  }

  isSpecial(id: number): boolean {
    return id === UNK || id === BOS || id === EOS;
  }

  /** The text split into code points, looked up whole or as byte tokens, with BOS and the dummy prefix first. */
  private initialSymbols(text: string): Symbols {
    const syms = new Symbols();
    syms.push(BOS, 0, 0);
    if (text.length === 0) return syms;
    // run.c looks up " " without checking; a vocabulary lacking it would make run.c emit -1.
    const space = this.lookup.get(' ');
    if (space === undefined) throw new Error(`${this.source}: vocabulary has no " " piece for the dummy prefix`);
    syms.push(space, 0, 0);
    let i = 0;
    for (const ch of text) {
      const start = i;
      i += ch.length;
      // Lone surrogates cannot be UTF-8; encode them as U+FFFD like TextEncoder would.
      const cp = ch.length === 1 && isSurrogate(ch.charCodeAt(0)) ? 0xfffd : ch.codePointAt(0)!;
      const bytes = utf8Bytes(cp);
      const id = this.lookup.get(String.fromCharCode(...bytes));
      if (id !== undefined) {
        syms.push(id, start, i);
      } else {
        if (!this.hasByteTokens) throw new Error(`${this.source}: "${ch}" is not in the vocabulary and the vocabulary has no <0xXX> byte tokens at ids 3..258`);
        // Every byte token of a character spans the whole character.
        for (const b of bytes) syms.push(b + BYTE_OFFSET, start, i);
      }
    }
    return syms;
  }

  private mergeCandidate(left: number, right: number): { id: number; score: number } | undefined {
    const id = this.lookup.get(this.pieces[left] + this.pieces[right]);
    if (id === undefined) return undefined;
    const score = this.scores[id];
    return score > NO_MERGE_SCORE ? { id, score } : undefined;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`${this.source}: token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}

/** A doubly linked list of tokens in struct-of-arrays form; merges keep the left node. */
class Symbols {
  id: number[] = [];
  start: number[] = [];
  end: number[] = [];
  prev: number[] = [];
  next: number[] = [];
  /** Bumped on every change to a node, so stale heap entries can be recognised. */
  version: number[] = [];
  push(id: number, start: number, end: number): void {
    const n = this.id.length;
    this.id.push(id);
    this.start.push(start);
    this.end.push(end);
    this.prev.push(n - 1);
    this.next.push(-1);
    this.version.push(0);
    if (n > 0) this.next[n - 1] = n;
  }
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  leftVersion: number;
  rightVersion: number;
  id: number;
}

/**
 * run.c repeatedly scans all adjacent pairs and merges the highest-scoring one, the leftmost on
 * ties; that is O(n²) per text. A heap ordered by (score desc, left node asc) pops the same
 * pair each round, because nodes never change their relative order, in O(n log n).
 */
function mergeBestPairs(syms: Symbols, candidate: (leftId: number, rightId: number) => { id: number; score: number } | undefined): void {
  const heap = new MinHeap<Candidate>((a, b) => (a.score !== b.score ? a.score > b.score : a.left < b.left));
  const offer = (left: number): void => {
    const right = left === -1 ? -1 : syms.next[left];
    if (left === -1 || right === -1) return;
    const c = candidate(syms.id[left], syms.id[right]);
    if (c) heap.push({ ...c, left, right, leftVersion: syms.version[left], rightVersion: syms.version[right] });
  };
  for (let i = 0; i < syms.id.length; i++) offer(i);

  for (let c = heap.pop(); c; c = heap.pop()) {
    const { left, right } = c;
    const stale = syms.version[left] !== c.leftVersion || syms.version[right] !== c.rightVersion || syms.next[left] !== right;
    if (stale) continue;
    syms.id[left] = c.id;
    syms.start[left] = Math.min(syms.start[left], syms.start[right]);
    syms.end[left] = Math.max(syms.end[left], syms.end[right]);
    syms.version[left]++;
    syms.version[right]++;
    const after = syms.next[right];
    syms.next[left] = after;
    if (after !== -1) syms.prev[after] = left;
    syms.next[right] = -1;
    offer(syms.prev[left]);
    offer(left);
  }
}

/** Binary heap; `before(a, b)` says a pops first. */
class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}
  push(x: T): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l], a[m])) m = l;
        if (r < a.length && this.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * run.c's safe_printf: a one-byte piece is printed only if printable or whitespace. Deviation:
 * bytes ≥ 0x80 are kept, because they are pieces of a multi-byte character spelled out in byte
 * tokens (emoji, rare letters); run.c in the C locale drops them, which loses those characters.
 */
function printable(piece: string): boolean {
  if (piece.length !== 1) return piece.length > 0;
  const b = piece.charCodeAt(0);
  return (b >= 0x20 && b < 0x7f) || (b >= 0x09 && b <= 0x0d) || b >= 0x80;
}

function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

const isSurrogate = (u: number): boolean => u >= 0xd800 && u <= 0xdfff;
const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');
/** A binary (byte-per-char) string decoded as UTF-8. */
const utf8 = (binary: string): string => new TextDecoder('utf-8').decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
