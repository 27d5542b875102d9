/**
 * Value vectors read as distributions over the vocabulary: pᵢ = softmax(vᵢ·E).
 * By default no final norm is applied, as in Geva et al. (2021) and LM-Debugger;
 * `finalNorm: true` projects norm(vᵢ) instead, as a logit lens of the residual would.
 */
import type { Model } from '../model';
import { sliceRows } from '../tensor';
import type { TokenPrediction } from './inspect';
import { VocabProjector, type VocabTop } from './vocab';

export interface DecodedValue {
  layer: number;
  key: number;
  top: TokenPrediction[];
  bottom: TokenPrediction[];
}

export function tokensOf(model: Model, t: VocabTop, row: number, k = t.k): TokenPrediction[] {
  return Array.from({ length: Math.min(k, t.k) }, (_, i) => {
    const id = t.ids[row * t.k + i];
    return { id, text: model.tokenizer.tokenText(id), prob: t.probs[row * t.k + i] };
  });
}

export async function decodeValue(model: Model, layer: number, key: number, k = 10, opts: { finalNorm?: boolean } = {}): Promise<DecodedValue> {
  if (!(Number.isInteger(key) && key >= 0 && key < model.config.dFf)) throw new Error(`key ${key} is outside 0..${model.config.dFf - 1}`);
  const v = sliceRows(model.values(layer), key, key + 1);
  const projector = await VocabProjector.for(model);
  const p = await projector.project(v, k, { finalNorm: opts.finalNorm, bottom: true });
  return { layer, key, top: tokensOf(model, p.top, 0), bottom: tokensOf(model, p.bottom!, 0) };
}
