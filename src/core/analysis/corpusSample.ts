/**
 * Corpus positions for the statistics that need forward passes. Paragraphs and windows
 * come from the trigger index's own corpus reader (same files, same convention: UTF-8,
 * maximal runs of non-blank lines, windows of W tokens from position 0), so the sampled
 * positions are drawn from exactly the population the index ranked triggers over.
 */
import type { Tokenizer } from '../tokenize/types';
import { readParagraphs, scanCorpus, type ScanOptions } from './triggers/corpus';
import { windowsOf, type Window } from './triggers/windows';

export interface SampledWindow extends Window {
  /** Sampled positions in this window, ascending. */
  positions: number[];
}

export interface CorpusWindows {
  paragraphs: number;
  windows: Window[];
}

export async function corpusWindows(tokenizer: Tokenizer, files: readonly string[], size: number, opts: ScanOptions = {}): Promise<CorpusWindows> {
  const scanned = await scanCorpus(files, opts);
  const windows: Window[] = [];
  for await (const p of readParagraphs(scanned.files, opts.signal)) windows.push(...windowsOf(p.index, tokenizer.encode(p.text), size));
  return { paragraphs: scanned.paragraphs, windows };
}

/** A small seeded generator (mulberry32), so a sample is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * About `n` corpus positions for the statistics: windows are drawn uniformly at random
 * (seeded) and each contributes all its candidate positions (those not holding a special
 * token, as in the index), so every position is equally likely to be drawn while a
 * forward pass serves a whole window instead of one position. The last window drawn
 * contributes a random subset, to give exactly min(n, all candidates) positions.
 * Grouped by window, in corpus order.
 */
export function samplePositions(windows: readonly Window[], tokenizer: Pick<Tokenizer, 'isSpecial'>, n: number, seed = 1): SampledWindow[] {
  const rand = seededRandom(seed);
  const order = windows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const chosen = new Map<number, number[]>();
  let total = 0;
  for (const wi of order) {
    if (total >= n) break;
    let positions = windows[wi].ids.flatMap((id, t) => (tokenizer.isSpecial(id) ? [] : [t]));
    if (positions.length === 0) continue;
    if (total + positions.length > n) {
      // a random subset of the last window, still in position order
      for (let i = positions.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [positions[i], positions[j]] = [positions[j], positions[i]];
      }
      positions = positions.slice(0, n - total).sort((a, b) => a - b);
    }
    chosen.set(wi, positions);
    total += positions.length;
  }
  return [...chosen.keys()].sort((a, b) => a - b).map((wi) => ({ ...windows[wi], positions: chosen.get(wi)! }));
}
