/** A benchmark input: exactly n tokens of held-out prose (or of a fixed sentence when the corpus is absent). */
import * as fs from 'node:fs';
import type { Model } from '../src/core';
import { sharedPath } from '../src/core/shared';

export function benchText(model: Model, n: number): string {
  const corpus = sharedPath('corpora', 'books-heldout', 'stevenson_jekyll.txt');
  const source = corpus ? fs.readFileSync(corpus, 'utf8').slice(20000, 40000) : 'The quick brown fox jumps over the lazy dog. '.repeat(200);
  // decode(encode(x)[:n]) may re-tokenize differently at the cut; trim until it is exactly n
  let ids = model.tokenizer.encode(source).slice(0, n);
  let text = model.tokenizer.decode(ids);
  while (model.tokenizer.encode(text).length > n) {
    ids = ids.slice(0, -1);
    text = model.tokenizer.decode(ids);
  }
  return text;
}
