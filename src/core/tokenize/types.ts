/** One token of an encoded text, with its character span in that text. */
export interface TokenSpan {
  id: number;
  /** Display text of the token alone (decoded; may be a partial character for byte tokens). */
  text: string;
  /** [start, end) in UTF-16 code units of the input string; a special token the tokenizer inserted (BOS) has start === end, one written in the text spans it. */
  start: number;
  end: number;
}

export interface Tokenizer {
  readonly vocabSize: number;
  /** Token ids with the model's default special tokens (GPT-2: none; llama2.c: BOS first). */
  encode(text: string): number[];
  /** Same ids as encode(), each with its character span. */
  encodeWithOffsets(text: string): TokenSpan[];
  decode(ids: number[]): string;
  /** Display text of a single token. */
  tokenText(id: number): string;
  isSpecial(id: number): boolean;
  readonly bosId?: number;
  readonly eosId?: number;
}
