/**
 * Corpus positions for the statistics that need forward passes, cut by the same
 * convention as the trigger-example index so the numbers describe the same text:
 * a paragraph is a maximal run of lines holding a non-whitespace character, joined with
 * "\n" and trimmed, numbered across files in order; each paragraph is tokenized alone
 * and cut into consecutive windows of at most W tokens, each run from position 0.
 */
import * as fs from 'node:fs';
import type { Tokenizer } from '../tokenize/types';

export interface CorpusWindow {
  paragraph: number;
  window: number;
  ids: number[];
}

export interface SampledWindow extends CorpusWindow {
  /** Sampled positions in this window, ascending. */
  positions: number[];
}

export function splitParagraphs(text: string): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length) out.push(run.join('\n').trim());
    run = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (/\S/.test(line)) run.push(line);
    else flush();
  }
  flush();
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Paragraphs of the files, in order. Unreadable or non-UTF-8 files are named in the error. */
export function readParagraphs(files: readonly string[]): string[] {
  if (files.length === 0) throw new Error('no corpus files given');
  return files.flatMap((f) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read corpus file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      return splitParagraphs(strictUtf8.decode(bytes));
    } catch {
      throw new Error(`corpus file ${f} is not UTF-8 text`);
    }
  });
}

export function windowsOf(tokenizer: Tokenizer, paragraphs: readonly string[], size: number): CorpusWindow[] {
  if (!(Number.isInteger(size) && size >= 1)) throw new Error(`window size must be a positive integer, got ${size}`);
  const out: CorpusWindow[] = [];
  paragraphs.forEach((p, paragraph) => {
    const ids = tokenizer.encode(p);
    for (let start = 0, window = 0; start < ids.length; start += size, window++) out.push({ paragraph, window, ids: ids.slice(start, start + size) });
  });
  return out;
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
 * `n` distinct positions drawn uniformly from all candidate positions (those not holding
 * a special token), grouped by window in corpus order. Fewer when the corpus is smaller.
 */
export function samplePositions(windows: readonly CorpusWindow[], tokenizer: Tokenizer, n: number, seed = 1): SampledWindow[] {
  const win: number[] = [];
  const pos: number[] = [];
  windows.forEach((w, wi) =>
    w.ids.forEach((id, t) => {
      if (!tokenizer.isSpecial(id)) {
        win.push(wi);
        pos.push(t);
      }
    }),
  );
  const total = win.length;
  const take = Math.min(n, total);
  // Floyd's algorithm: `take` distinct indices without materialising a permutation
  const rand = seededRandom(seed);
  const chosen = new Set<number>();
  for (let j = total - take; j < total; j++) {
    const r = Math.floor(rand() * (j + 1));
    chosen.add(chosen.has(r) ? j : r);
  }
  const byWindow = new Map<number, number[]>();
  for (const c of [...chosen].sort((a, b) => a - b)) {
    const list = byWindow.get(win[c]) ?? [];
    list.push(pos[c]);
    byWindow.set(win[c], list);
  }
  return [...byWindow.entries()].map(([wi, positions]) => ({ ...windows[wi], positions }));
}
