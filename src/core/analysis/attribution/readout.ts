/**
 * How the residual stream becomes a logit, frozen at one position: the extension point
 * of attribution. The final norm's scale (σ for LayerNorm, rms for RMSNorm) is taken
 * from the position's residual and then held fixed, so the logit is a linear function
 * of the residual plus a constant, and every additive part of the residual gets a score:
 *
 *   LayerNorm: logit = ((x − mean x)/σ ⊙ γ + β)·u + b   →  score(c) = c·r with r = γ⊙u/σ − mean(γ⊙u/σ)
 *   RMSNorm:   logit = (x/rms(x) ⊙ γ′)·u + b             →  score(c) = c·r with r = γ′⊙u/rms
 *
 * u is the target's unembedding column (minus the contrast's), b the unembedding bias
 * (likewise), and constant = β·u + b. γ′ is the gain the graph applies: families whose
 * checkpoints store gain − 1 (Gemma) convert it to 1 + γ when loaded, so it is 1 + γ here.
 *
 * What families add is handled by three named rules below, each frozen at the position like
 * the final norm: ffnReadout (a norm after the FFN — Gemma 2/3, OLMo 2 — and Granite's
 * residual multiplier: the direction a memory's value is read along in its layer),
 * logitScale (Granite's logits_scaling) and preCapLogit (Gemma 2's final soft-capping:
 * the pre-cap logit is attributed, and the attribution says so). Anything else a new
 * family adds fails the exactness checks in trace.ts and attribute.ts, which refuse it
 * by name rather than guess.
 */
import type { Model } from '../../model';

export interface Readout {
  /** score(c) = c · direction for any additive part c of the residual. */
  direction: Float64Array;
  /** β·u plus the unembedding bias: the part of the logit no component carries. */
  constant: number;
}

/** The target's unembedding column minus the contrast's, and the same for the bias. */
function unembeddingDirection(model: Model, target: number, contrast: number | null): { u: Float64Array; bias: number } {
  const t = model.unembedColumn(target);
  const c = contrast === null ? undefined : model.unembedColumn(contrast);
  return { u: Float64Array.from(t.weight, (w, j) => w - (c ? c.weight[j] : 0)), bias: t.bias - (c ? c.bias : 0) };
}

/** Granite divides its logits by logits_scaling: the readout is divided alike. */
const logitScale = (model: Model): number => 1 / model.config.logitDivisor;

/**
 * The logit attribution explains: the model's own, or before Gemma 2's final soft-capping
 * cap·tanh(x/cap), whose inverse is cap·atanh(y/cap); the logit as is without soft-capping.
 */
export function preCapLogit(model: Model, logit: number): number {
  const cap = model.config.finalSoftcap;
  return cap ? cap * Math.atanh(logit / cap) : logit;
}

export const capNote = (model: Model): string | null =>
  model.config.finalSoftcap ? `the pre-cap logit: ${model.info.modelType} soft-caps its logits as ${model.config.finalSoftcap}·tanh(x/${model.config.finalSoftcap}), which is not additive` : null;

/**
 * The direction layer l's memories are read along, so that memory i scores mᵢ·(vᵢ·direction)
 * and the FFN's output bias b·direction + `offset`: the residual's readout carried back
 * through what follows the FFN — its norm, frozen at the position like the final norm (scale
 * from the down projection's output there), and the residual multiplier.
 */
export function ffnReadout(model: Model, layer: number, ffnOut: Float32Array, r: Float64Array): { direction: Float64Array; offset: number } {
  const scale = model.config.residualScale;
  const post = model.ffnPostNorm(layer);
  const d = r.length;
  const direction = new Float64Array(d);
  if (!post) {
    for (let j = 0; j < d; j++) direction[j] = scale * r[j];
    return { direction, offset: 0 };
  }
  const layerNorm = model.config.norm === 'layer';
  let mean = 0;
  if (layerNorm) for (let j = 0; j < d; j++) mean += ffnOut[j] / d;
  let square = 0;
  for (let j = 0; j < d; j++) square += (ffnOut[j] - mean) ** 2;
  const inv = 1 / Math.sqrt(square / d + model.config.normEps);
  let centre = 0;
  let offset = 0;
  for (let j = 0; j < d; j++) {
    direction[j] = scale * post.weight.data[j] * inv * r[j];
    centre += direction[j] / d;
    if (post.bias) offset += scale * post.bias.data[j] * r[j];
  }
  if (layerNorm) for (let j = 0; j < d; j++) direction[j] -= centre;
  return { direction, offset };
}

export function frozenReadout(model: Model, resid: Float32Array, target: number, contrast: number | null): Readout {
  const cfg = model.config;
  const norm = model.finalNorm();
  const { u: raw, bias: rawBias } = unembeddingDirection(model, target, contrast);
  const k = logitScale(model);
  const u = raw.map((x) => x * k);
  const bias = rawBias * k;
  const d = u.length;
  const direction = new Float64Array(d);
  let constant = bias;
  if (norm.bias) for (let j = 0; j < d; j++) constant += norm.bias.data[j] * u[j];
  if (cfg.norm === 'layer') {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += resid[j];
    mean /= d;
    let variance = 0;
    for (let j = 0; j < d; j++) variance += (resid[j] - mean) ** 2;
    const sigma = Math.sqrt(variance / d + cfg.normEps);
    let centre = 0;
    for (let j = 0; j < d; j++) centre += (direction[j] = (norm.weight.data[j] * u[j]) / sigma);
    centre /= d;
    for (let j = 0; j < d; j++) direction[j] -= centre;
  } else {
    let square = 0;
    for (let j = 0; j < d; j++) square += resid[j] * resid[j];
    const rms = Math.sqrt(square / d + cfg.normEps);
    for (let j = 0; j < d; j++) direction[j] = (norm.weight.data[j] * u[j]) / rms;
  }
  return { direction, constant };
}

export function dot(a: Float32Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < b.length; j++) s += a[j] * b[j];
  return s;
}
