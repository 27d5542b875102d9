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
 * A family with more between the residual and the logit (a logit scale or soft-capping,
 * a norm after the FFN that must be frozen too) needs its rule added here; until then
 * the exactness checks in trace.ts and attribute.ts refuse it, naming it.
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
  const { weight, bias } = model.unembed();
  const [d, V] = weight.shape;
  const u = new Float64Array(d);
  for (let j = 0; j < d; j++) u[j] = weight.data[j * V + target] - (contrast === null ? 0 : weight.data[j * V + contrast]);
  const b = bias ? bias.data[target] - (contrast === null ? 0 : bias.data[contrast]) : 0;
  return { u, bias: b };
}

export function frozenReadout(model: Model, resid: Float32Array, target: number, contrast: number | null): Readout {
  const cfg = model.config;
  const norm = model.finalNorm();
  const { u, bias } = unembeddingDirection(model, target, contrast);
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
