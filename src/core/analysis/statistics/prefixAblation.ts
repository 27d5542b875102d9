/**
 * The prefix-ablation experiment of Geva et al. (2021): for keys' top trigger examples,
 * remove the first, the last or a random token of the prefix and measure how much the
 * key's coefficient at the (new) last position changes. The paper's finding: removing
 * the last token hurts lower layers' keys most (they key on the final token: shallow),
 * removing the first hurts upper layers relatively more (they use the whole context).
 *
 * Per layer, `keys` keys with triggers are drawn at random (seeded) and their top
 * `triggers` examples used; the change is relative to the indexed coefficient c (signed
 * for gated FFNs) and pooled as Σ(c′ − c) / Σ|c| over the layer's examples, not as a mean
 * of per-example ratios, which a few keys with coefficients near 0 would dominate (one
 * such key made a layer's mean −430% on gpt2-books); the interval is a bootstrap over keys. The random token is drawn among the
 * prefix's inner tokens (neither first nor last) when it has any, else among all.
 * Prefixes of one token are skipped: removing it leaves nothing to run.
 */
import { hookName } from '../../hooks';
import type { Model } from '../../model';
import type { TriggerLookup } from './agreement';
import { ClusteredRatio, type Interval } from './intervals';
import { seededRandom } from './sample';

export type AblatedToken = 'first' | 'last' | 'random';
const VARIANTS: readonly AblatedToken[] = ['first', 'last', 'random'];

export interface AblationEffect {
  /** Relative change of the coefficients, Σ(c′ − c) / Σ|c| over the layer's examples. */
  mean: number;
  ci95: Interval;
}

export interface LayerAblation extends Record<AblatedToken, AblationEffect> {
  layer: number;
  keys: number;
  /** Examples measured (prefixes of ≥ 2 tokens). */
  examples: number;
}

export interface PrefixAblation {
  keysPerLayer: number;
  triggersPerKey: number;
  layers: LayerAblation[];
}

export interface PrefixAblationOptions {
  /** Keys drawn per layer (default 24). */
  keys?: number;
  /** Top triggers used per key (default 5). */
  triggers?: number;
  /** Tokens per forward pass (default 2048). */
  batchTokens?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (layer: number) => void;
}

interface Job {
  key: number;
  variant: AblatedToken;
  ids: number[];
  /** The indexed coefficient before the removal. */
  before: number;
}

function ablate(prefix: readonly number[], variant: AblatedToken, rand: () => number): number[] {
  const n = prefix.length;
  const at = variant === 'first' ? 0 : variant === 'last' ? n - 1 : n > 2 ? 1 + Math.floor(rand() * (n - 2)) : Math.floor(rand() * n);
  return [...prefix.slice(0, at), ...prefix.slice(at + 1)];
}

/** Coefficient of each job's key at its last position, in length-sorted padded batches. */
async function coefficients(model: Model, layer: number, jobs: Job[], batchTokens: number, signal?: AbortSignal): Promise<Float64Array> {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[a].ids.length - jobs[b].ids.length);
  const out = new Float64Array(jobs.length);
  const dFf = model.config.dFf;
  const hook = hookName(layer, 'mlp.coeff');
  for (let s = 0; s < order.length; ) {
    signal?.throwIfAborted();
    let e = s + 1;
    while (e < order.length && (e - s + 1) * jobs[order[e]].ids.length <= batchTokens) e++;
    const batch = order.slice(s, e);
    s = e;
    const T = jobs[batch[batch.length - 1]].ids.length;
    const coeff = (await model.run(batch.map((i) => [...jobs[i].ids, ...new Array(T - jobs[i].ids.length).fill(0)]), [hook])).get(hook)!;
    batch.forEach((i, b) => (out[i] = coeff.data[(b * T + jobs[i].ids.length - 1) * dFf + jobs[i].key]));
  }
  return out;
}

export async function prefixAblation(model: Model, triggers: TriggerLookup, opts: PrefixAblationOptions = {}): Promise<PrefixAblation> {
  const keysPerLayer = opts.keys ?? 24;
  const triggersPerKey = opts.triggers ?? 5;
  const rand = seededRandom(opts.seed ?? 1);
  const layers: LayerAblation[] = [];
  for (let layer = 0; layer < model.config.nLayers; layer++) {
    const candidates = Array.from({ length: model.config.dFf }, (_, k) => k).filter((k) => triggers.triggers(layer, k).some((t) => t.prefix.length >= 2 && t.coeff !== 0));
    // a seeded partial shuffle picks the keys
    for (let i = 0; i < Math.min(keysPerLayer, candidates.length); i++) {
      const j = i + Math.floor(rand() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    const keys = candidates.slice(0, keysPerLayer);
    const jobs: Job[] = keys.flatMap((key) =>
      triggers
        .triggers(layer, key)
        .slice(0, triggersPerKey)
        .filter((t) => t.prefix.length >= 2 && t.coeff !== 0)
        .flatMap((t) => VARIANTS.map((variant) => ({ key, variant, ids: ablate(t.prefix, variant, rand), before: t.coeff }))),
    );
    const after = await coefficients(model, layer, jobs, opts.batchTokens ?? 2048, opts.signal);
    const ratios = Object.fromEntries(VARIANTS.map((v) => [v, new ClusteredRatio()])) as Record<AblatedToken, ClusteredRatio>;
    jobs.forEach((j, i) => ratios[j.variant].add(j.key, after[i] - j.before, Math.abs(j.before)));
    const effect = (v: AblatedToken): AblationEffect => ({ mean: ratios[v].value, ci95: ratios[v].ci95(rand) });
    layers.push({ layer, keys: keys.length, examples: jobs.length / VARIANTS.length, first: effect('first'), last: effect('last'), random: effect('random') });
    opts.onProgress?.(layer);
  }
  return { keysPerLayer, triggersPerKey, layers };
}
