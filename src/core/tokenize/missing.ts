/**
 * Stand-in for a checkpoint that ships no tokenizer (such as the conformance models):
 * the model still runs on token ids, and text input fails with a message saying why.
 */
import type { Tokenizer, TokenSpan } from './types';

export class MissingTokenizer implements Tokenizer {
  constructor(readonly vocabSize: number, private readonly where: string) {}

  private fail(): never {
    throw new Error(`${this.where} has no tokenizer.json, so it cannot read text; give token ids instead`);
  }

  encode(): number[] {
    return this.fail();
  }
  encodeWithOffsets(): TokenSpan[] {
    return this.fail();
  }
  decode(ids: number[]): string {
    return ids.map((id) => this.tokenText(id)).join('');
  }
  tokenText(id: number): string {
    return `⟨${id}⟩`;
  }
  isSpecial(): boolean {
    return false;
  }
}
