/**
 * Search by token: which memories promote (or suppress) a token, ranked by the token's
 * probability in pᵢ. Served from an inverted index over the value table (token id →
 * memories whose top-k, or bottom-k, holds it), so a query is a slice lookup. Memories
 * where the token ranks outside the table's k are not found: k bounds what search sees.
 */
import type { Tokenizer } from '../tokenize/types';
import type { ValueTable } from './valueTable';

export type SearchSide = 'promote' | 'suppress';

export interface MemorySearchHit {
  layer: number;
  key: number;
  tokenId: number;
  prob: number;
  /** 1-based rank of the token in the memory's top-k (promote) or bottom-k (suppress, 1 = least likely). */
  rank: number;
}

/** Compressed rows: for token t, entries offsets[t] .. offsets[t+1], best first. */
interface Inverted {
  offsets: Uint32Array;
  memory: Uint32Array;
  prob: Float32Array;
  rank: Uint16Array;
}

function invert(ids: Int32Array, probs: Float32Array, k: number, vocabSize: number, descending: boolean): Inverted {
  const offsets = new Uint32Array(vocabSize + 1);
  for (let i = 0; i < ids.length; i++) offsets[ids[i] + 1]++;
  for (let t = 0; t < vocabSize; t++) offsets[t + 1] += offsets[t];
  const fill = offsets.slice(0, vocabSize);
  const memory = new Uint32Array(ids.length);
  const prob = new Float32Array(ids.length);
  const rank = new Uint16Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const at = fill[ids[i]]++;
    memory[at] = Math.floor(i / k);
    prob[at] = probs[i];
    rank[at] = (i % k) + 1;
  }
  // order each token's slice by probability once, here, so queries never sort
  const sign = descending ? -1 : 1;
  for (let t = 0; t < vocabSize; t++) {
    const lo = offsets[t];
    const hi = offsets[t + 1];
    if (hi - lo < 2) continue;
    const order = Array.from({ length: hi - lo }, (_, j) => lo + j).sort((a, b) => sign * (prob[a] - prob[b]) || memory[a] - memory[b]);
    const m = order.map((j) => memory[j]);
    const p = order.map((j) => prob[j]);
    const r = order.map((j) => rank[j]);
    memory.set(m, lo);
    prob.set(p, lo);
    rank.set(r, lo);
  }
  return { offsets, memory, prob, rank };
}

export class MemorySearch {
  private constructor(
    private readonly table: ValueTable,
    private readonly promote: Inverted,
    private readonly suppress: Inverted,
  ) {}

  /** Builds both inverted indexes (top-k and bottom-k) from a table. */
  static build(table: ValueTable): MemorySearch {
    const d = table.data;
    return new MemorySearch(table, invert(d.topIds, d.topProbs, d.k, d.vocabSize, true), invert(d.bottomIds, d.bottomProbs, d.k, d.vocabSize, false));
  }

  /** Memories holding `tokenId`, best first (highest probability, or lowest for suppress). */
  lookup(tokenId: number, side: SearchSide = 'promote', limit = Infinity): MemorySearchHit[] {
    const vocab = this.table.data.vocabSize;
    if (!(Number.isInteger(tokenId) && tokenId >= 0 && tokenId < vocab)) throw new Error(`token id ${tokenId} is outside 0..${vocab - 1}`);
    const inv = side === 'promote' ? this.promote : this.suppress;
    const lo = inv.offsets[tokenId];
    const hi = Math.min(inv.offsets[tokenId + 1], lo + limit);
    const dFf = this.table.dFf;
    const hits: MemorySearchHit[] = [];
    for (let j = lo; j < hi; j++) {
      const m = inv.memory[j];
      hits.push({ layer: Math.floor(m / dFf), key: m % dFf, tokenId, prob: inv.prob[j], rank: inv.rank[j] });
    }
    return hits;
  }
}

export interface WordSearchResult {
  query: string;
  side: SearchSide;
  /** The token ids searched: the first token of the word as written and with a leading space. */
  tokens: { id: number; text: string }[];
  hits: MemorySearchHit[];
}

/**
 * The token ids a word stands for. A word may tokenize to several tokens: its first
 * (non-special) token is used. Byte-level BPE spells "cat" and " cat" as different
 * tokens, and mid-sentence words are the spaced form, so both variants are tried.
 */
export function queryTokens(tokenizer: Tokenizer, word: string): number[] {
  if (word.length === 0) throw new Error('search: the word is empty');
  const variants = /^\s/.test(word) ? [word] : [word, ' ' + word];
  const ids: number[] = [];
  for (const v of variants) {
    const first = tokenizer.encode(v).find((id) => !tokenizer.isSpecial(id));
    if (first !== undefined && !ids.includes(first)) ids.push(first);
  }
  if (ids.length === 0) throw new Error(`search: "${word}" has no ordinary token`);
  return ids;
}

/** Memories promoting (or suppressing) a word, over all its query tokens, ranked together. */
export function searchWord(search: MemorySearch, tokenizer: Tokenizer, word: string, opts: { side?: SearchSide; limit?: number } = {}): WordSearchResult {
  const side = opts.side ?? 'promote';
  const limit = opts.limit ?? 20;
  const ids = queryTokens(tokenizer, word);
  const hits = ids.flatMap((id) => search.lookup(id, side, limit));
  hits.sort((a, b) => (side === 'promote' ? b.prob - a.prob : a.prob - b.prob) || a.layer - b.layer || a.key - b.key);
  return { query: word, side, tokens: ids.map((id) => ({ id, text: tokenizer.tokenText(id) })), hits: hits.slice(0, limit) };
}
