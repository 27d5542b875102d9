/**
 * Statistics 1 and 2 of Geva et al. (2021): does a memory's value predict what follows
 * its key's best trigger? Per layer, the share of keys whose value's top token equals
 * the next token of their top-1 trigger, and that token's rank in pᵢ; then the same
 * agreement in bins of max pᵢ (calibration), pooled and per layer. Rates carry Wilson
 * 95% intervals: a layer's agreement rests on a handful of keys. Keys whose top trigger ends its paragraph
 * (no next token) or that have no trigger are left out and counted as such.
 *
 * Signed memories (gated FFNs): at a negative trigger the memory adds −|m|·v, which
 * promotes the value's BOTTOM tokens. With a signed index the same statistic is computed
 * apart for each key's most negative trigger: its next token against the value's bottom
 * token, ranked from the bottom of pᵢ. The two sides are never pooled (a key counts once
 * on each side it has a trigger on), and calibration stays on the positive side: max pᵢ
 * is a confidence of the top side only.
 */
import type { Model } from '../../model';
import { tokenRanks, type RankFrom } from '../ranks';
import { seededRandom } from './sample';
import type { Trigger } from '../triggers/open';
import type { ValueTable } from '../valueTable';
import { wilson, type Interval } from './intervals';

/**
 * What agreement needs of a trigger-example index: a key's triggers, best first. The
 * real TriggerIndex has this shape; tests may pass any object that does.
 */
export interface TriggerLookup {
  triggers(layer: number, key: number): readonly Trigger[];
  /**
   * A signed index's negative triggers (m < 0), most negative first; null (or no such
   * method) when the index has no negative side.
   */
  negativeTriggers?(layer: number, key: number): readonly Trigger[] | null;
}

/** Whether a lookup has a negative side at all (asked of its first key). */
export const hasNegativeSide = (t: TriggerLookup): boolean => t.negativeTriggers?.(0, 0) != null;

export interface LayerAgreement {
  layer: number;
  /** Keys whose top-1 trigger has a next token: the denominator. */
  keys: number;
  /** Keys left out: no trigger, or the trigger ends its paragraph. */
  skipped: number;
  agreed: number;
  rate: number;
  /** Wilson 95% interval of `rate`. */
  ci95: Interval;
  /** Mean and median 1-based rank of the next token in pᵢ. */
  meanRank: number;
  medianRank: number;
  /** Agreement with the next tokens shuffled among the layer's keys (mean over rounds): chance given the tokens that occur. */
  shuffledRate: number;
}

export interface CalibrationBin {
  /** Range of max pᵢ in the bin (bins hold equal numbers of keys). */
  lo: number;
  hi: number;
  keys: number;
  agreed: number;
  rate: number;
  /** Wilson 95% interval of `rate`. */
  ci95: Interval;
}

export interface AgreementStatistics {
  /** Whether pᵢ was read through the final norm (the value table's setting). */
  finalNorm: boolean;
  layers: LayerAgreement[];
  /** All layers pooled. */
  calibration: CalibrationBin[];
  /** Per layer (fewer bins), so a trend across bins is not just the layers' different levels. */
  calibrationByLayer: CalibrationBin[][];
  /** Uniform-random baselines: top-1 agreement 1/V, mean rank (V+1)/2. */
  baseline: { rate: number; meanRank: number };
  /**
   * Signed memories: per layer, each key's most negative trigger's next token against the
   * value's bottom token (what m < 0 promotes), ranked from the bottom of pᵢ; null when the
   * index has no negative side (unsigned: an ungated model, or an index older than signed indexes).
   */
  negative: LayerAgreement[] | null;
}

export interface AgreementOptions {
  /** Calibration bins, pooled (default 10). */
  bins?: number;
  /** Calibration bins per layer (default 5). */
  layerBins?: number;
  /** Rounds of the shuffled baseline (default 20). */
  shuffles?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (layer: number) => void;
}

const RANK_BATCH = 1024;

function median(xs: Int32Array): number {
  if (xs.length === 0) return NaN;
  const s = Int32Array.from(xs).sort();
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function shuffledRate(tops: number[], nexts: number[], rounds: number, rand: () => number): number {
  if (tops.length === 0) return NaN;
  const perm = nexts.slice();
  let hits = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    for (let i = 0; i < perm.length; i++) if (perm[i] === tops[i]) hits++;
  }
  return hits / (rounds * tops.length);
}

/** Ranks of next[i] in p of value row keys[i] (from `from`'s end), batched through onnxruntime. */
async function ranksFor(model: Model, layer: number, keys: number[], nexts: number[], finalNorm: boolean, from: RankFrom, signal?: AbortSignal): Promise<Int32Array> {
  const values = model.values(layer);
  const d = values.shape[1];
  const out = new Int32Array(keys.length);
  for (let s = 0; s < keys.length; s += RANK_BATCH) {
    signal?.throwIfAborted();
    const part = keys.slice(s, s + RANK_BATCH);
    const rows = new Float32Array(part.length * d);
    part.forEach((k, i) => rows.set(values.data.subarray(k * d, (k + 1) * d), i * d));
    out.set(await tokenRanks(model, { data: rows, shape: [part.length, d] }, nexts.slice(s, s + RANK_BATCH), { finalNorm, from }), s);
  }
  return out;
}

/** One side of a layer's agreement, and per counted key whether it agreed (for calibration). */
interface SideAgreement {
  stats: LayerAgreement;
  keys: number[];
  agreed: boolean[];
}

/**
 * A layer's agreement on one side: `first(key)` is the key's best trigger on that side,
 * `promoted(key)` the token the memory promotes there (the value's top or bottom token).
 */
async function sideAgreement(
  model: Model,
  table: ValueTable,
  layer: number,
  first: (key: number) => Trigger | undefined,
  from: RankFrom,
  rand: () => number,
  opts: AgreementOptions,
): Promise<SideAgreement> {
  const keys: number[] = [];
  const nexts: number[] = [];
  const tops: number[] = [];
  for (let key = 0; key < table.dFf; key++) {
    const next = first(key)?.next;
    if (next === undefined || next === null) continue;
    keys.push(key);
    nexts.push(next);
    tops.push(from === 'top' ? table.topId(layer, key) : table.bottom(layer, key, 1)[0].id);
  }
  const ranks = await ranksFor(model, layer, keys, nexts, table.finalNorm, from, opts.signal);
  const agreed = keys.map((_, i) => tops[i] === nexts[i]);
  const hits = agreed.filter(Boolean).length;
  return {
    keys,
    agreed,
    stats: {
      layer,
      keys: keys.length,
      skipped: table.dFf - keys.length,
      agreed: hits,
      rate: keys.length ? hits / keys.length : NaN,
      ci95: wilson(hits, keys.length),
      meanRank: keys.length ? ranks.reduce((a, r) => a + r, 0) / keys.length : NaN,
      medianRank: median(ranks),
      shuffledRate: shuffledRate(tops, nexts, opts.shuffles ?? 20, rand),
    },
  };
}

function calibrate(maxProbs: number[], agreed: boolean[], bins: number): CalibrationBin[] {
  const order = maxProbs.map((_, i) => i).sort((a, b) => maxProbs[a] - maxProbs[b]);
  const n = order.length;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins && n > 0; b++) {
    const part = order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins));
    if (part.length === 0) continue;
    const hits = part.filter((i) => agreed[i]).length;
    out.push({ lo: maxProbs[part[0]], hi: maxProbs[part[part.length - 1]], keys: part.length, agreed: hits, rate: hits / part.length, ci95: wilson(hits, part.length) });
  }
  return out;
}

export async function agreementStatistics(model: Model, table: ValueTable, triggers: TriggerLookup, opts: AgreementOptions = {}): Promise<AgreementStatistics> {
  const rand = seededRandom(opts.seed ?? 1);
  const layers: LayerAgreement[] = [];
  const negative: LayerAgreement[] | null = hasNegativeSide(triggers) ? [] : null;
  const allMax: number[] = [];
  const allAgreed: boolean[] = [];
  const calibrationByLayer: CalibrationBin[][] = [];
  for (let layer = 0; layer < table.nLayers; layer++) {
    opts.signal?.throwIfAborted();
    const positive = await sideAgreement(model, table, layer, (key) => triggers.triggers(layer, key)[0], 'top', rand, opts);
    const layerMax = positive.keys.map((key) => table.maxProb(layer, key));
    allMax.push(...layerMax);
    allAgreed.push(...positive.agreed);
    calibrationByLayer.push(calibrate(layerMax, positive.agreed, opts.layerBins ?? 5));
    layers.push(positive.stats);
    if (negative) negative.push((await sideAgreement(model, table, layer, (key) => triggers.negativeTriggers!(layer, key)?.[0], 'bottom', rand, opts)).stats);
    opts.onProgress?.(layer);
  }
  const V = table.data.vocabSize;
  return { finalNorm: table.finalNorm, layers, calibration: calibrate(allMax, allAgreed, opts.bins ?? 10), calibrationByLayer, baseline: { rate: 1 / V, meanRank: (V + 1) / 2 }, negative };
}
