/**
 * Statistics 3–5 of Geva et al. (2021), over sampled corpus positions:
 *  3. active memories: the share of a layer's coefficients above a threshold;
 *  4. composition: how often the FFN output's top token is the top token of none of the
 *     active memories (the output is then a composition, not one memory's prediction);
 *  5. residual vs FFN: how often the residual's top token before the FFN is already the
 *     model's final prediction, and whether the layer's output keeps the residual's top
 *     token, takes the FFN's, or becomes a third one. "The FFN's" is what the residual
 *     receives (mlp.out_post, after Gemma 2/3's and OLMo 2's post-FFN norm), while the
 *     composition test (4) reads mlp.out, the sum of the memories' values it compares with.
 * Shares carry bootstrap 95% intervals that resample whole windows, since positions of one
 * window share their context. Every top token here is read through the final norm and E (the logit lens). A memory's
 * top token comes from the final-norm value table: the norm ignores positive scale, so
 * that is exactly the top token of the memory's own contribution cᵢ·vᵢ.
 *
 * Signed memories (gated FFNs): "active" is |m| above the threshold (active.ts), and a
 * memory with m < 0 contributes −|m|·v, so the composition test reads it by the token it
 * promotes: its value's BOTTOM token. Gated families' final norms are RMSNorms (no bias),
 * under which norm(−v) = −norm(v), so that is exactly the top token of its contribution.
 * The strongest memory, and the strongest N when maxMemories caps them, are by |m| there.
 */
import { hookName } from '../../hooks';
import type { Model } from '../../model';
import type { HookTensor } from '../../runtime/session';
import type { SampledWindow } from './sample';
import { activeTest } from '../active';
import { topK, topKByMagnitude } from '../topk';
import type { ValueTable } from '../valueTable';
import { VocabProjector } from '../vocab';
import { ClusteredRatio, type Interval } from './intervals';
import { seededRandom } from './sample';

export interface LayerActivity {
  layer: number;
  /** Mean share of the layer's memories active at a position, and its spread over positions. */
  meanShare: number;
  p10: number;
  p50: number;
  p90: number;
  meanCount: number;
  /** Bootstrap 95% interval of `meanShare` over windows. */
  ci95: Interval;
}

export interface LayerComposition {
  layer: number;
  /** Positions with at least one active memory: the denominator. */
  positions: number;
  /** Positions where no memory was active (left out). */
  noActive: number;
  /** Positions where the FFN output's top token is no active memory's top token. */
  differs: number;
  rate: number;
  /**
   * The same share with each memory's top token taken from the raw pᵢ = softmax(vᵢ·E),
   * as the paper reads values, while the FFN output stays read through the final norm.
   */
  rateRawValues: number | null;
  /** Share of positions where the single strongest memory's top token is the FFN output's. */
  strongestAgrees: number;
  /** Bootstrap 95% interval of `rate` over windows. */
  ci95: Interval;
}

export type ResidualOutcome = 'agree' | 'residual' | 'ffn' | 'neither';

export interface LayerResidual {
  layer: number;
  positions: number;
  /** Share of positions whose residual top token (before the FFN) is the final prediction. */
  residualIsFinal: number;
  /**
   * Shares of positions by what the layer's output top token is: `agree` the residual and
   * the FFN share a top token and the output keeps it; `residual` it is the residual's
   * (which the FFN's differs from); `ffn` it is the FFN's; `neither` a third token.
   */
  outcomes: Record<ResidualOutcome, number>;
  /** Bootstrap 95% interval of `residualIsFinal` over windows. */
  ci95: Interval;
  /** Bootstrap 95% intervals of the outcome shares. */
  outcomesCi95: Record<ResidualOutcome, Interval>;
}

export interface PositionStatistics {
  positions: number;
  windows: number;
  threshold: number;
  /** Memories compared per position in the composition test: the strongest N active, or all (null). */
  maxMemories: number | null;
  activity: LayerActivity[];
  composition: LayerComposition[];
  residual: LayerResidual[];
}

export interface PositionOptions {
  /** A memory is active when its coefficient (for gated FFNs its |coefficient|) exceeds this (default 0). */
  threshold?: number;
  maxMemories?: number;
  /** The raw (no final norm) value table, for rateRawValues. */
  rawTable?: ValueTable;
  /** Tokens per forward pass (default 1024). */
  batchTokens?: number;
  /** Seed of the bootstrap (default 1). */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const KINDS = ['resid_mid', 'mlp.out', 'resid_post', 'mlp.out_post'] as const;
/** Rows per projection call: bounds the [rows, vocab] buffers onnxruntime allocates. */
const LENS_ROWS = 1024;

/** Top-1 token of each [d] row through the final norm and E, in bounded calls. */
async function lensTop(projector: VocabProjector, rows: Float32Array, d: number): Promise<Int32Array> {
  const n = rows.length / d;
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += LENS_ROWS) {
    const e = Math.min(n, s + LENS_ROWS);
    const p = await projector.project({ data: rows.subarray(s * d, e * d), shape: [e - s, d] }, 1, { finalNorm: true });
    out.set(p.top.ids, s);
  }
  return out;
}

function quantile(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Accumulators per layer, each a ratio kept per window (the cluster the bootstrap
 * resamples), turned into the reported shares and intervals at the end.
 */
class Tally {
  shares: number[][];
  counts: number[];
  active: ClusteredRatio[];
  comp: { noActive: number; differsRaw: number; strongest: number; differs: ClusteredRatio }[];
  final: ClusteredRatio[];
  outcomes: Record<ResidualOutcome, ClusteredRatio>[];
  constructor(nLayers: number) {
    const each = <T>(f: () => T) => Array.from({ length: nLayers }, f);
    this.shares = each(() => []);
    this.counts = new Array(nLayers).fill(0);
    this.active = each(() => new ClusteredRatio());
    this.comp = each(() => ({ noActive: 0, differsRaw: 0, strongest: 0, differs: new ClusteredRatio() }));
    this.final = each(() => new ClusteredRatio());
    this.outcomes = each(() => ({ agree: new ClusteredRatio(), residual: new ClusteredRatio(), ffn: new ClusteredRatio(), neither: new ClusteredRatio() }));
  }
}

function outcomeOf(resTop: number, ffnTop: number, outTop: number): ResidualOutcome {
  if (resTop === ffnTop) return outTop === resTop ? 'agree' : 'neither';
  if (outTop === resTop) return 'residual';
  if (outTop === ffnTop) return 'ffn';
  return 'neither';
}

/** Rows `position` of [B, T, d] hooks at (b, t), for every sampled position, stacked. */
function gatherRows(tensors: HookTensor[], at: { b: number; t: number }[]): Float32Array {
  const [, T, d] = tensors[0].dims;
  const out = new Float32Array(at.length * tensors.length * d);
  let row = 0;
  for (const { b, t } of at) {
    for (const x of tensors) out.set(x.data.subarray((b * T + t) * d, (b * T + t + 1) * d), d * row++);
  }
  return out;
}

export async function positionStatistics(model: Model, lensTable: ValueTable, sample: readonly SampledWindow[], opts: PositionOptions = {}): Promise<PositionStatistics> {
  if (!lensTable.finalNorm) throw new Error('positionStatistics needs the final-norm value table (the lens the FFN output is read through)');
  const threshold = opts.threshold ?? 0;
  const isActive = activeTest(model.config);
  const maxMemories = opts.maxMemories ?? null;
  const L = model.config.nLayers;
  const dFf = model.config.dFf;
  const d = model.config.dModel;
  const batchTokens = opts.batchTokens ?? 1024;
  // no prediction hooks: the final prediction is the lens of the last layer's output, which
  // is computed anyway (final norm, then E: exactly the model's logits)
  const hooks = Array.from({ length: L }, (_, l) => [hookName(l, 'mlp.coeff'), ...KINDS.map((k) => hookName(l, k))]).flat();
  const projector = await VocabProjector.for(model);
  const tally = new Tally(L);
  const gated = model.config.gated;
  // with a LayerNorm's bias, norm(−v) ≠ −norm(v): the bottom token would no longer be what m < 0 promotes
  if (gated && model.config.norm !== 'rms') throw new Error(`the composition statistic reads ${model.info.name}'s memories with m < 0 by their value's bottom token, which is exact only under an RMSNorm final norm; this gated model has a ${model.config.norm} norm`);
  // the token memory `key` promotes at coefficient c: its value's top token, or for a gated memory with c < 0 its bottom one
  const memTop = (t: ValueTable, l: number, key: number, c: number) => (gated && c < 0 ? t.data.bottomIds : t.data.topIds)[(l * dFf + key) * t.k];
  const strongest = gated ? topKByMagnitude : topK;
  const raw = opts.rawTable;
  if (raw && raw.finalNorm) throw new Error('rawTable must be the value table without the final norm');

  // similar lengths together, so right-padding wastes little; only the prefix up to the last sampled position is run
  const jobs = sample.map((w, window) => ({ window, ids: w.ids.slice(0, w.positions[w.positions.length - 1] + 1), positions: w.positions })).sort((a, b) => a.ids.length - b.ids.length);
  const total = jobs.reduce((a, j) => a + j.positions.length, 0);
  let done = 0;
  for (let s = 0; s < jobs.length; ) {
    opts.signal?.throwIfAborted();
    // jobs are sorted by length, so the batch's last job sets its padded length
    let e = s + 1;
    while (e < jobs.length && (e - s + 1) * jobs[e].ids.length <= batchTokens) e++;
    const batch = jobs.slice(s, e);
    s = e;
    const T = batch[batch.length - 1].ids.length;
    const out = await model.run(
      batch.map((j) => [...j.ids, ...new Array(T - j.ids.length).fill(0)]),
      hooks,
    );
    const at = batch.flatMap((j, b) => j.positions.map((t) => ({ b, t, window: j.window })));
    const lensRows = gatherRows(Array.from({ length: L }, (_, l) => KINDS.map((kind) => out.get(hookName(l, kind))!)).flat(), at);
    const lens = await lensTop(projector, lensRows, d);

    at.forEach(({ b, t, window }, i) => {
      const final = lens[(i * L + L - 1) * KINDS.length + 2];
      for (let l = 0; l < L; l++) {
        const base = (i * L + l) * KINDS.length;
        const [resTop, ffnTop, outTop, addedTop] = [lens[base], lens[base + 1], lens[base + 2], lens[base + 3]];
        const coeff = out.get(hookName(l, 'mlp.coeff'))!;
        const offset = (b * T + t) * dFf;
        const active: number[] = [];
        for (let key = 0; key < dFf; key++) if (isActive(coeff.data[offset + key], threshold)) active.push(key);
        tally.shares[l].push(active.length / dFf);
        tally.counts[l] += active.length;
        tally.active[l].add(window, active.length / dFf);

        const c = tally.comp[l];
        if (active.length === 0) c.noActive++;
        else {
          const m = (key: number) => coeff.data[offset + key];
          const compared = maxMemories === null || active.length <= maxMemories ? active : strongest(coeff.data, offset, dFf, maxMemories).map((h) => h.index);
          c.differs.add(window, compared.some((key) => memTop(lensTable, l, key, m(key)) === ffnTop) ? 0 : 1);
          if (raw && !compared.some((key) => memTop(raw, l, key, m(key)) === ffnTop)) c.differsRaw++;
          const first = strongest(coeff.data, offset, dFf, 1)[0].index;
          if (memTop(lensTable, l, first, m(first)) === ffnTop) c.strongest++;
        }
        tally.final[l].add(window, resTop === final ? 1 : 0);
        const outcome = outcomeOf(resTop, addedTop, outTop);
        for (const [o, ratio] of Object.entries(tally.outcomes[l])) ratio.add(window, o === outcome ? 1 : 0);
      }
    });
    done += at.length;
    opts.onProgress?.(done, total);
  }

  const n = total;
  const rand = seededRandom(opts.seed ?? 1);
  return {
    positions: n,
    windows: sample.length,
    threshold,
    maxMemories,
    activity: tally.shares.map((xs, layer) => {
      const sorted = Float32Array.from(xs).sort();
      const a = tally.active[layer];
      return { layer, meanShare: a.value, p10: quantile(sorted, 0.1), p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), meanCount: tally.counts[layer] / (n || NaN), ci95: a.ci95(rand) };
    }),
    composition: tally.comp.map((c, layer) => {
      const positions = c.differs.denominator;
      return {
        layer,
        positions,
        noActive: c.noActive,
        differs: c.differs.numerator,
        rate: c.differs.value,
        rateRawValues: raw ? c.differsRaw / (positions || NaN) : null,
        strongestAgrees: c.strongest / (positions || NaN),
        ci95: c.differs.ci95(rand),
      };
    }),
    residual: tally.final.map((f, layer) => {
      const outcomes = tally.outcomes[layer];
      const each = <T>(g: (r: ClusteredRatio) => T) => Object.fromEntries(Object.entries(outcomes).map(([o, r]) => [o, g(r)])) as Record<ResidualOutcome, T>;
      return { layer, positions: f.denominator, residualIsFinal: f.value, ci95: f.ci95(rand), outcomes: each((r) => r.value), outcomesCi95: each((r) => r.ci95(rand)) };
    }),
  };
}
