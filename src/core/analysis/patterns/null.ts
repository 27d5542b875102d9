/**
 * The null of the pattern detectors: how much of a key's "triggers" they would cover if
 * the triggers were random corpus positions. Each pseudo-key takes `top` (25) positions
 * drawn uniformly from the same corpus, as Trigger records (prefix: the window up to the
 * position; next: the window's next token, none at a window's end), and the value of a
 * random key of the same layer for the value-agreement hint. Coverage well above this
 * null is what a pattern has to show; a detector that covers random positions as often
 * as real triggers (topic words on Wikipedia text, say) describes the corpus, not the key.
 */
import type { Trigger } from '../triggers';
import { PositionPool, seededRandom } from '../statistics/sample';
import { coverageOf, findPatterns, summarizeKey, type Coverage, type PatternOptions, type PatternVocab } from './detect';

export interface NullOptions {
  pool: PositionPool;
  /** Pseudo-keys per layer (default 200). */
  draws?: number;
  seed?: number;
}

/** `n` random positions of the pool as triggers (coefficient 0: they were not ranked). */
export function randomTriggers(pool: PositionPool, n: number, rand: () => number): Trigger[] {
  return pool.draw(n, rand).flatMap((w) =>
    w.positions.map((t) => ({ paragraph: w.paragraph, window: w.window, position: t, coeff: 0, prefix: w.ids.slice(0, t + 1), next: t + 1 < w.ids.length ? w.ids[t + 1] : null })),
  );
}

export function nullCoverage(vocab: PatternVocab, valueTops: readonly number[][], o: Required<PatternOptions>, opts: NullOptions, layer: number): Coverage {
  const rand = seededRandom((opts.seed ?? 1) * 1009 + layer);
  const keys = Array.from({ length: opts.draws ?? 200 }, (_, i) => {
    const triggers = randomTriggers(opts.pool, o.top, rand);
    const value = valueTops[Math.floor(rand() * valueTops.length)];
    return summarizeKey(layer, i, triggers.length, findPatterns(triggers, vocab, value, o));
  });
  return coverageOf(keys, rand);
}
