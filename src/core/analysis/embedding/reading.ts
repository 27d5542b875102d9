/**
 * A memory's vectors read in embedding space (Dar et al. 2022, "Analyzing Transformers
 * in Embedding Space"), as scores people can compare: a value vᵢ scored against every
 * output-embedding column (vᵢ·E, what it adds to each token's logit) and a key kᵢ against
 * every input-embedding row (what token content makes it fire). Raw softmax probabilities
 * of a small model's values are nearly flat (0.0027% against 0.002% uniform), so each token
 * also carries its z-score over the vocabulary and its rank; the probability is kept.
 */
import type { Model } from '../../model';
import type { TokenPrediction } from '../inspect';
import { topK } from '../topk';
import { tokenRowsOf } from '../vocab';

/** A token of a reading; `prob` is the softmax over the vocabulary's scores. */
export interface ReadToken extends TokenPrediction {
  /** The vector's dot product with the token's embedding. */
  score: number;
  /** (score − mean) / standard deviation, over the whole vocabulary. */
  z: number;
  /** 1 for the highest score; the vocabulary size for the lowest. */
  rank: number;
}

export interface VectorReading {
  /** Highest scores first. */
  top: ReadToken[];
  /** Lowest scores first. */
  bottom: ReadToken[];
  mean: number;
  std: number;
}

/** The k highest and k lowest of `scores`, read as tokens with z-score, rank and probability. */
export function readScores(model: Model, scores: Float32Array, k: number): VectorReading {
  const V = scores.length;
  let mean = 0;
  let max = -Infinity;
  for (const s of scores) {
    mean += s;
    if (s > max) max = s;
  }
  mean /= V;
  let variance = 0;
  let sumExp = 0;
  for (const s of scores) {
    variance += (s - mean) ** 2;
    sumExp += Math.exp(s - max);
  }
  const std = Math.sqrt(variance / V);
  const token = (id: number, rank: number): ReadToken => {
    const s = scores[id];
    return { id, text: model.tokenizer.tokenText(id), score: s, z: std > 0 ? (s - mean) / std : 0, rank, prob: Math.exp(s - max) / sumExp };
  };
  return {
    top: topK(scores, 0, V, k).map((h, i) => token(h.index, i + 1)),
    bottom: topK(scores, 0, V, k, -1).map((h, i) => token(h.index, V - i)),
    mean,
    std,
  };
}

function checkMemory(model: Model, layer: number, key: number): void {
  if (!(Number.isInteger(layer) && layer >= 0 && layer < model.config.nLayers)) throw new Error(`layer ${layer} is outside 0..${model.config.nLayers - 1}`);
  if (!(Number.isInteger(key) && key >= 0 && key < model.config.dFf)) throw new Error(`key ${key} is outside 0..${model.config.dFf - 1}`);
}

/** The final norm applied to one vector, as the graph applies it to the residual. */
function normed(model: Model, v: Float32Array): Float32Array {
  const { weight, bias } = model.finalNorm();
  const d = v.length;
  let mean = 0;
  if (model.config.norm === 'layer') mean = v.reduce((a, x) => a + x, 0) / d;
  let square = 0;
  for (const x of v) square += (x - mean) ** 2;
  const scale = 1 / Math.sqrt(square / d + model.config.normEps);
  return v.map((x, j) => (x - mean) * scale * weight.data[j] + (bias ? bias.data[j] : 0));
}

/**
 * vᵢ·E: what the value adds to each token's logit, plus the unembedding bias where the
 * model has one (as decodeValue and the value table read it, so the probabilities agree).
 * `finalNorm` reads norm(vᵢ) instead, as the logit lens does.
 */
export function readValue(model: Model, layer: number, key: number, k = 10, opts: { finalNorm?: boolean } = {}): VectorReading {
  checkMemory(model, layer, key);
  // the lens's Eᵀ, held once per model: reading E from disk per call cost 1 GB at Llama 3's vocabulary
  const { rows, bias } = tokenRowsOf(model);
  const [V, d] = rows.shape;
  const raw = model.values(layer).data.subarray(key * d, (key + 1) * d);
  const v = opts.finalNorm ? normed(model, raw) : raw;
  const scores = new Float32Array(V);
  for (let t = 0; t < V; t++) {
    let s = bias ? bias.data[t] : 0;
    for (let j = 0, o = t * d; j < d; j++, o++) s += v[j] * rows.data[o];
    scores[t] = s;
  }
  return readScores(model, scores, k);
}

/**
 * kᵢ·E over the input embedding rows: the token content a key responds to. The key is
 * the up projection's row (for gated FFNs, the one multiplied by the gate's activation).
 */
export function readKey(model: Model, layer: number, key: number, k = 10): VectorReading {
  checkMemory(model, layer, key);
  const keys = model.keys(layer);
  const d = keys.shape[1];
  const kv = keys.data.subarray(key * d, (key + 1) * d);
  const embed = model.embedding();
  const V = embed.shape[0];
  const scores = new Float32Array(V);
  for (let t = 0; t < V; t++) {
    let s = 0;
    const base = t * d;
    for (let j = 0; j < d; j++) s += embed.data[base + j] * kv[j];
    scores[t] = s;
  }
  return readScores(model, scores, k);
}
