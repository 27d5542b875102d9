/**
 * What the model predicts at one position, before and after switching memories off or
 * boosting them (as LM-Debugger does), and layer by layer through the logit lens.
 */
import { hookName } from '../hooks';
import type { Model } from '../model';
import type { Intervention } from '../runtime/session';
import { type HostTensor } from '../tensor';
import { PREDICTION_HOOKS, predictionsFrom, type TokenPrediction } from './inspect';
import { tokensOf } from './values';
import { VocabProjector } from './vocab';

export interface InterventionEffect {
  position: number;
  before: TokenPrediction[];
  after: TokenPrediction[];
}

function checkPosition(ids: number[], position: number): void {
  if (!(Number.isInteger(position) && position >= 0 && position < ids.length)) throw new Error(`position ${position} is outside 0..${ids.length - 1}`);
}

export async function predictWithInterventions(model: Model, ids: number[], position: number, interventions: Intervention[], k = 5): Promise<InterventionEffect> {
  checkPosition(ids, position);
  const [before, after] = await Promise.all([model.run([ids], PREDICTION_HOOKS), model.run([ids], PREDICTION_HOOKS, interventions)]);
  return { position, before: predictionsFrom(model, before, k)[position], after: predictionsFrom(model, after, k)[position] };
}

export interface LayerPrediction {
  layer: number;
  /** Logit lens of the residual before the FFN (after attention). */
  beforeFfn: TokenPrediction[];
  /** ... and after the FFN has added its output. */
  afterFfn: TokenPrediction[];
  /** What the FFN adds to the residual alone (mlp.out_post: after Gemma 2/3's and OLMo 2's post-FFN norm), projected the same way. */
  ffn: TokenPrediction[];
}

/** Rows `position` of each [1, T, d] hook, stacked into [n, d]. */
function rowsAt(tensors: { data: Float32Array; dims: number[] }[], position: number): HostTensor {
  const d = tensors[0].dims[2];
  const data = new Float32Array(tensors.length * d);
  tensors.forEach((t, i) => data.set(t.data.subarray(position * d, (position + 1) * d), i * d));
  return { data, shape: [tensors.length, d] };
}

/** Residual-stream predictions at one position for every layer, through the final norm. */
export async function layerPredictions(model: Model, ids: number[], position: number, k = 5, interventions: Intervention[] = []): Promise<LayerPrediction[]> {
  checkPosition(ids, position);
  const L = model.config.nLayers;
  const kinds = ['resid_mid', 'resid_post', 'mlp.out_post'] as const;
  const names = kinds.flatMap((kind) => Array.from({ length: L }, (_, l) => hookName(l, kind)));
  const out = await model.run([ids], names, interventions);
  const projector = await VocabProjector.for(model);
  const p = await projector.project(rowsAt(names.map((n) => out.get(n)!), position), k, { finalNorm: true });
  return Array.from({ length: L }, (_, layer) => ({
    layer,
    beforeFfn: tokensOf(model, p.top, layer),
    afterFfn: tokensOf(model, p.top, L + layer),
    ffn: tokensOf(model, p.top, 2 * L + layer),
  }));
}
