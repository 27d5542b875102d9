/**
 * Hugging Face tokenizers (tokenizer.json) through transformers.js's tokenizer package
 * (@huggingface/tokenizers), plus the character offsets it does not report: each token's bytes are recovered from its
 * vocabulary string and aligned against the input's UTF-8 bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonObject } from '../io/readFile';
import { checkTokenizerJson } from './tokenizerJson';
import type { Tokenizer, TokenSpan } from './types';

type TokenizerJson = Record<string, unknown> & { model?: { vocab?: unknown } };
type TokenizerConfig = Record<string, unknown>;
type HfTokenizerImpl = import('@huggingface/tokenizers').Tokenizer;

/** Large-vocabulary tokenizer.json files are tens of MB; this bounds what is read, no more. */
const MAX_TOKENIZER_JSON_BYTES = 512 * 1024 * 1024;

/** A tokenizer file when present (a regular file, bounded, UTF-8 JSON object), else undefined. */
function readJson(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  return readJsonObject(file, 'tokenizer file', MAX_TOKENIZER_JSON_BYTES);
}

/** tokenizer_config.json spells special tokens as strings or as {content} objects. */
function specialTokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** GPT-2's byte ↔ printable-character table used by byte-level BPE vocabularies. */
function byteLevelDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map.set(String.fromCharCode(printable.includes(b) ? b : 256 + extra++), b);
  }
  return map;
}

const utf8 = new TextEncoder();

const isSpaceByte = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;

/** The bytes a vocabulary entry stands for (byte-level BPE or SentencePiece style). */
function tokenBytes(token: string, byteLevel: Map<string, number> | undefined): Uint8Array {
  if (byteLevel) {
    const chars = [...token];
    if (chars.every((c) => byteLevel.has(c))) return Uint8Array.from(chars.map((c) => byteLevel.get(c)!));
  }
  const byteFallback = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
  if (byteFallback) return Uint8Array.of(parseInt(byteFallback[1], 16));
  return utf8.encode(token.replace(/\u2581/g, ' '));
}

export class HfTokenizer implements Tokenizer {
  private readonly special: Set<number>;
  private readonly byteLevel?: Map<string, number>;
  readonly bosId?: number;
  readonly eosId?: number;

  private constructor(private readonly tok: HfTokenizerImpl, config: TokenizerConfig, readonly vocabSize: number) {
    this.special = new Set([...tok.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id));
    // byte-level vocabularies spell a leading space as "Ġ"
    if (tok.token_to_id('\u0120the') !== undefined || tok.token_to_id('\u0120') !== undefined) this.byteLevel = byteLevelDecoder();
    const idOf = (v: unknown) => {
      const text = specialTokenText(v);
      return text === undefined ? undefined : tok.token_to_id(text);
    };
    this.bosId = idOf(config.bos_token);
    this.eosId = idOf(config.eos_token);
  }

  /** Loads tokenizer.json (and tokenizer_config.json when present) from a model directory. */
  static async fromDirectory(dir: string, vocabSize: number): Promise<HfTokenizer> {
    const file = path.join(dir, 'tokenizer.json');
    const json = readJson(file) as TokenizerJson | undefined;
    if (!json) throw new Error(`no tokenizer.json in ${dir} (FFN Lens reads Hugging Face fast-tokenizer files)`);
    checkTokenizerJson(json, file);
    const config = readJson(path.join(dir, 'tokenizer_config.json')) ?? {};
    const { Tokenizer } = await import('@huggingface/tokenizers');
    try {
      return new HfTokenizer(new Tokenizer(json, config), config, vocabSize);
    } catch (e) {
      throw new Error(`cannot load the tokenizer ${file}: ${(e as Error).message}`);
    }
  }

  encode(text: string): number[] {
    const ids = this.tok.encode(text).ids;
    // a vocabulary without an unknown token has no id for unseen text
    if (ids.some((id) => id === undefined)) throw new Error('the tokenizer has no token for part of this text (and no unknown token)');
    return ids;
  }

  decode(ids: number[]): string {
    // the tokenizers package throws on an empty list
    return ids.length === 0 ? '' : this.tok.decode(ids, { skip_special_tokens: false });
  }

  tokenText(id: number): string {
    if (this.special.has(id)) return this.tok.id_to_token(id) ?? `<${id}>`;
    return this.tok.decode([id]);
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  encodeWithOffsets(text: string): TokenSpan[] {
    const ids = this.encode(text);
    // For every UTF-8 byte index: the UTF-16 index of the character it falls in (floor)
    // and of the first character boundary at or after it (ceil). A token that splits a
    // character covers all of it, so neighbouring spans may share that character.
    const bytes = utf8.encode(text);
    const floor = new Int32Array(bytes.length + 1);
    const ceil = new Int32Array(bytes.length + 1);
    let b = 0;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      const units = cp > 0xffff ? 2 : 1;
      for (let k = 0; k < n; k++) {
        floor[b + k] = i;
        ceil[b + k] = k === 0 ? i : i + units;
      }
      b += n;
      i += units;
    }
    floor[bytes.length] = ceil[bytes.length] = text.length;

    let cursor = 0;
    return ids.map((id) => {
      if (this.special.has(id)) {
        const at = ceil[cursor];
        return { id, text: this.tokenText(id), start: at, end: at };
      }
      let tb = tokenBytes(this.tok.id_to_token(id) ?? '', this.byteLevel);
      // a SentencePiece dummy-prefix space has no counterpart in the input
      if (tb[0] === 0x20 && bytes[cursor] !== 0x20) tb = tb.subarray(1);
      // whitespace a pre-tokenizer dropped (word-level vocabularies) belongs to no token
      while (cursor < bytes.length && isSpaceByte(bytes[cursor]) && tb.length > 0 && bytes[cursor] !== tb[0]) cursor++;
      const startByte = cursor;
      cursor = Math.min(bytes.length, cursor + tb.length);
      return { id, text: this.tokenText(id), start: floor[startByte], end: ceil[cursor] };
    });
  }
}
