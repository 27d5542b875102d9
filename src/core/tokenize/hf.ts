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

/** Every `type` in a tokenizer.json component, through Sequence nesting. */
function componentTypes(c: unknown): string[] {
  if (!c || typeof c !== 'object') return [];
  const o = c as Record<string, unknown>;
  const nested = ['normalizers', 'pretokenizers', 'decoders'].flatMap((k) => (Array.isArray(o[k]) ? (o[k] as unknown[]).flatMap(componentTypes) : []));
  return [...(typeof o.type === 'string' ? [o.type] : []), ...nested];
}

/** The Unicode normalization a tokenizer applies before splitting (Qwen: NFC), if any. */
function normalForm(json: TokenizerJson): 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | undefined {
  return componentTypes(json.normalizer).find((t): t is 'NFC' | 'NFD' | 'NFKC' | 'NFKD' => ['NFC', 'NFD', 'NFKC', 'NFKD'].includes(t));
}

/**
 * The text as the tokenizer's model sees it, in UTF-8, with each byte's way back to the
 * input: `floor[b]` is the UTF-16 start of the input piece byte b came from, `ceil[b]` the
 * first piece boundary at or after b. A piece is a code point, or with a Unicode
 * normalizer a base character with its combining marks (normalized alone, so a composed
 * "é" maps back to "e" + U+0301).
 */
function alignedBytes(text: string, form: ReturnType<typeof normalForm>): { bytes: Uint8Array; floor: Int32Array; ceil: Int32Array } {
  const pieces = form ? text.match(/\P{M}\p{M}*|\p{M}+/gsu) ?? [] : Array.from(text);
  const encoded = pieces.map((p) => utf8.encode(form ? p.normalize(form) : p));
  const total = encoded.reduce((n, e) => n + e.length, 0);
  const bytes = new Uint8Array(total);
  const floor = new Int32Array(total + 1);
  const ceil = new Int32Array(total + 1);
  let b = 0;
  let i = 0;
  pieces.forEach((p, k) => {
    bytes.set(encoded[k], b);
    for (let j = 0; j < encoded[k].length; j++) {
      floor[b + j] = i;
      ceil[b + j] = j === 0 ? i : i + p.length;
    }
    b += encoded[k].length;
    i += p.length;
  });
  floor[total] = ceil[total] = text.length;
  return { bytes, floor, ceil };
}

const startsWith = (hay: Uint8Array, at: number, needle: Uint8Array) => needle.length > 0 && at + needle.length <= hay.length && needle.every((v, i) => hay[at + i] === v);

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
  /** Added tokens (special or not) by id: their text is their content, not a vocabulary spelling. */
  private readonly added: Map<number, Uint8Array>;
  private readonly byteLevel?: Map<string, number>;
  private readonly form: ReturnType<typeof normalForm>;
  readonly bosId?: number;
  readonly eosId?: number;

  private constructor(private readonly tok: HfTokenizerImpl, json: TokenizerJson, config: TokenizerConfig, readonly vocabSize: number) {
    const added = [...tok.get_added_tokens_decoder().entries()];
    this.special = new Set(added.filter(([, t]) => t.special).map(([id]) => id));
    // byte-level BPE says so in its pre-tokenizer or decoder; a large SentencePiece vocabulary
    // (Gemma 3) may hold "Ġ" as an ordinary token, so the vocabulary alone cannot tell
    if ([...componentTypes(json.pre_tokenizer), ...componentTypes(json.decoder)].includes('ByteLevel')) this.byteLevel = byteLevelDecoder();
    // SentencePiece-style added tokens spell spaces as "▁" too (Gemma 3's "▁▁")
    this.added = new Map(added.map(([id, t]) => [id, utf8.encode(this.byteLevel ? t.content : t.content.replace(/\u2581/g, ' '))]));
    this.form = normalForm(json);
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
      return new HfTokenizer(new Tokenizer(json, config), json, config, vocabSize);
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
    // A token that splits a character covers all of it, so neighbouring spans may share it.
    const { bytes, floor, ceil } = alignedBytes(text, this.form);
    let cursor = 0;
    return ids.map((id) => {
      const added = this.added.get(id);
      if (this.special.has(id) && !(added && startsWith(bytes, cursor, added))) {
        // inserted by the tokenizer (BOS), not written in the text
        const at = ceil[cursor];
        return { id, text: this.tokenText(id), start: at, end: at };
      }
      let tb = added ?? tokenBytes(this.tok.id_to_token(id) ?? '', this.byteLevel);
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
