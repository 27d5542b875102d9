/**
 * Corpus positions for the statistics that need forward passes. Paragraphs and windows
 * come from the trigger index's own corpus reader (same files, same convention: UTF-8,
 * maximal runs of non-blank lines, windows of W tokens from position 0), so the sampled
 * positions are drawn from exactly the population the index ranked triggers over.
 */
import type { Tokenizer } from '../../tokenize/types';
import { readParagraphs, scanCorpus, type ScanOptions } from '../triggers/corpus';
import { windowsOf, type Window } from '../triggers/windows';

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
 * Every candidate position of a corpus (those not holding a special token, as in the
 * index), to draw uniform samples from without replacement: `draw(n)` spreads over the
 * whole corpus — 1,000 positions of WikiText-2 fall in about 900 windows, where drawing
 * whole windows gave about 60, too few independent contexts for an interval. Samples
 * come grouped by window (the unit the bootstrap resamples), in corpus order.
 */
export class PositionPool {
  /** (window, position) packed as window · width + position. */
  private readonly candidates: number[] = [];
  private readonly width: number;

  constructor(
    readonly windows: readonly Window[],
    tokenizer: Pick<Tokenizer, 'isSpecial'>,
  ) {
    this.width = Math.max(1, ...windows.map((w) => w.ids.length));
    windows.forEach((w, wi) => w.ids.forEach((id, t) => tokenizer.isSpecial(id) || this.candidates.push(wi * this.width + t)));
  }

  get size(): number {
    return this.candidates.length;
  }

  draw(n: number, rand: () => number): SampledWindow[] {
    const c = this.candidates;
    const take = Math.min(n, c.length);
    // a partial Fisher–Yates shuffle: the first `take` entries become a uniform sample
    // (of whatever order earlier draws left, so draws stay independent)
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(rand() * (c.length - i));
      [c[i], c[j]] = [c[j], c[i]];
    }
    const chosen = new Map<number, number[]>();
    for (const x of c.slice(0, take).sort((a, b) => a - b)) {
      const wi = Math.floor(x / this.width);
      const list = chosen.get(wi);
      if (list) list.push(x % this.width);
      else chosen.set(wi, [x % this.width]);
    }
    return [...chosen].map(([wi, positions]) => ({ ...this.windows[wi], positions }));
  }
}
