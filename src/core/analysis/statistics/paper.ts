/**
 * The statistics of Geva et al. (2021), reproduced for a model, a trigger-example index
 * and a corpus sample: agreement and calibration (from the index and the value table),
 * active memories, composition, and residual vs FFN (from forward passes over sampled
 * positions). The result is plain JSON: the report renders it, the CLI prints it.
 */
import * as path from 'node:path';
import type { Model } from '../../model';
import { corpusWindows, PositionPool, seededRandom } from './sample';
import { prefixAblation, type PrefixAblation, type PrefixAblationOptions } from './prefixAblation';
import { layerPatterns, type LayerPatterns } from '../patterns';
import { agreementStatistics, hasNegativeSide, type AgreementStatistics, type TriggerLookup } from './agreement';
import { positionStatistics, type PositionStatistics } from './positions';
import { TriggerIndex } from '../triggers/open';
import { valueTable } from '../valueTable';

export type { AgreementStatistics, CalibrationBin, LayerAgreement, TriggerLookup } from './agreement';
export type { LayerActivity, LayerComposition, LayerResidual, PositionStatistics, ResidualOutcome } from './positions';
export type { LayerPatterns, Coverage } from '../patterns';
export type { PrefixAblation, LayerAblation, AblationEffect, AblatedToken } from './prefixAblation';
export type { Interval } from './intervals';

/**
 * 2: 95% intervals, positions sampled over the whole corpus, calibration per layer, pattern nulls, output hints apart, prefix ablation.
 * 3: signed memories (gated FFNs): composition reads m < 0 by the value's bottom token, agreement.negative, `signed`.
 */
export const STATISTICS_VERSION = 3;

/** How the statistics counted signed memories: what a reader of the numbers must know. */
export interface SignedMemories {
  /** The FFN is gated: m = act(gate)·up is negative about half the time, and m < 0 promotes the value's bottom tokens. */
  gated: boolean;
  /** The trigger index keeps each key's most negative triggers too (a signed index, format version 2). */
  negativeTriggers: boolean;
  /** Each statistic's rule, in words. */
  counting: string[];
}

function signedMemories(gated: boolean, negativeTriggers: boolean): SignedMemories {
  if (!gated) {
    return { gated, negativeTriggers, counting: ['The FFN is not gated: its coefficients are (almost) never negative, so a memory is active when m > threshold and always read by its value’s top token.'] };
  }
  return {
    gated,
    negativeTriggers,
    counting: [
      'Active memories: |m| > threshold, since a memory with m < 0 adds −|m|·v as surely as one with m > 0 adds m·v.',
      'Composition: a memory with m < 0 is read by its value’s bottom token (what −|m|·v promotes; exact under the RMSNorm final norm of gated families); the strongest memories are those of largest |m|.',
      negativeTriggers
        ? 'Agreement: each key’s top positive trigger against its value’s top token (agreement.layers, with calibration); apart from it, each key’s most negative trigger against its value’s bottom token, ranked from the bottom of pᵢ (agreement.negative). A key counts once on each side; the sides are never pooled.'
        : 'Agreement: only positive triggers, against the value’s top token: this trigger index has no negative side (built before signed indexes); rebuild it to measure the negative side.',
      'Trigger patterns and prefix ablation use the positive triggers.',
    ],
  };
}

export interface StatisticsOptions {
  /** Corpus files for the position statistics (normally the index's corpus: TriggerIndex.info.corpus). */
  corpus: readonly string[];
  /** JSON Lines field / Parquet column of the corpus's text (normally the index's: recordedTextField). */
  textField?: string;
  /** Window size in tokens (default 128; pass the index's settings.window). */
  window?: number;
  /** Positions sampled from the corpus (default 1000). */
  positions?: number;
  seed?: number;
  /** Active-memory threshold on coefficients (default 0). */
  threshold?: number;
  /** Compare only the strongest N active memories in the composition test (default all). */
  maxMemories?: number;
  /** Read pᵢ through the final norm for agreement and calibration (default false, as the paper). */
  finalNorm?: boolean;
  calibrationBins?: number;
  /** Summarise the automatic trigger patterns per layer, with their null (default true; needs a real TriggerIndex). */
  patterns?: boolean;
  /** Pseudo-keys of 25 random positions per layer for the patterns' null (default 200). */
  nullDraws?: number;
  /** The prefix-ablation experiment (default on; false to skip). */
  ablation?: boolean | PrefixAblationOptions;
  /** Where the value tables are cached (default the model cache). */
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (stage: string, fraction?: number) => void;
}

export interface PaperStatistics {
  version: number;
  model: { name: string; hash: string; nLayers: number; dFf: number; vocabSize: number };
  corpus: { files: string[]; paragraphs: number; windows: number; window: number; seed: number };
  agreement: AgreementStatistics;
  positions: PositionStatistics;
  /** Per layer, the share of triggers covered by an automatic pattern (patterns/), beside its null; null when not computed. */
  patterns: LayerPatterns[] | null;
  /** The prefix-ablation experiment; null when not computed. */
  ablation: PrefixAblation | null;
  /** How signed memories (gated FFNs, m < 0) were counted. */
  signed: SignedMemories;
  seconds: { tables: number; agreement: number; patterns: number; ablation: number; positions: number };
}

export async function paperStatistics(model: Model, triggers: TriggerLookup, opts: StatisticsOptions): Promise<PaperStatistics> {
  const progress = opts.onProgress ?? (() => {});
  const window = opts.window ?? 128;
  const seed = opts.seed ?? 1;
  const clock = () => performance.now() / 1000;

  let t0 = clock();
  const tableFor = (finalNorm: boolean) =>
    valueTable(model, {
      finalNorm,
      cacheDir: opts.cacheDir,
      signal: opts.signal,
      onProgress: (p) => progress(`decoding values${finalNorm ? ' (final norm)' : ''}`, p.done / p.total),
      onCacheProblem: (m) => progress(m),
    });
  const table = await tableFor(opts.finalNorm ?? false);
  // the position statistics read everything through the final norm (see positions.ts)
  const lensTable = table.finalNorm ? table : await tableFor(true);
  const tables = clock() - t0;

  t0 = clock();
  const agreement = await agreementStatistics(model, table, triggers, {
    bins: opts.calibrationBins,
    seed,
    signal: opts.signal,
    onProgress: (l) => progress('agreement', (l + 1) / model.config.nLayers),
  });
  const agreementSeconds = clock() - t0;

  progress('reading the corpus');
  const { paragraphs, windows } = await corpusWindows(model.tokenizer, opts.corpus, Math.min(window, model.config.contextSize), { textField: opts.textField, signal: opts.signal });
  const pool = new PositionPool(windows, model.tokenizer);
  if (pool.size === 0) throw new Error(`the corpus (${opts.corpus.join(', ')}) has no tokens to sample`);

  t0 = clock();
  let patterns: LayerPatterns[] | null = null;
  if (opts.patterns !== false && triggers instanceof TriggerIndex) {
    patterns = [];
    for (let layer = 0; layer < model.config.nLayers; layer++) {
      opts.signal?.throwIfAborted();
      // valueK capped by the vocabulary: the value-agreement hint's top-k cannot exceed it
      const o = { valueK: Math.min(10, model.config.vocabSize), randomPositions: { pool, draws: opts.nullDraws, seed } };
      patterns.push((await layerPatterns(model, triggers, layer, o)).summary);
      progress('trigger patterns and their null', (layer + 1) / model.config.nLayers);
    }
  }
  const patternSeconds = clock() - t0;

  t0 = clock();
  const ablation =
    opts.ablation === false
      ? null
      : await prefixAblation(model, triggers, {
          seed,
          ...(typeof opts.ablation === 'object' ? opts.ablation : {}),
          signal: opts.signal,
          onProgress: (l) => progress('prefix ablation', (l + 1) / model.config.nLayers),
        });
  const ablationSeconds = clock() - t0;

  t0 = clock();
  const sample = pool.draw(opts.positions ?? 1000, seededRandom(seed));
  const positions = await positionStatistics(model, lensTable, sample, {
    threshold: opts.threshold,
    maxMemories: opts.maxMemories,
    rawTable: table.finalNorm ? undefined : table,
    seed,
    signal: opts.signal,
    onProgress: (done, total) => progress('forward passes', done / total),
  });

  const m = model.info;
  return {
    version: STATISTICS_VERSION,
    model: { name: m.name, hash: m.hash, nLayers: m.nLayers, dFf: m.dFf, vocabSize: m.vocabSize },
    corpus: { files: opts.corpus.map((f) => path.basename(f)), paragraphs, windows: windows.length, window, seed },
    agreement,
    positions,
    patterns,
    ablation,
    signed: signedMemories(model.config.gated, hasNegativeSide(triggers)),
    seconds: { tables, agreement: agreementSeconds, patterns: patternSeconds, ablation: ablationSeconds, positions: clock() - t0 },
  };
}
