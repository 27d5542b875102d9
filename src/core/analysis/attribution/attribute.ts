/**
 * Direct logit attribution at one position (see readout.ts for the definition): how much
 * each part of the residual stream — embeddings, every attention and FFN output, the
 * final norm's bias — and each FFN memory contributes to the logit of a target token,
 * or to its lead over a contrast token. Component scores sum to the model's logit, and a
 * layer's memory scores plus its output bias sum to that FFN's score; both are checked on
 * every call, so a model this does not describe exactly is refused rather than misread.
 */
import type { Model } from '../../model';
import { topK } from '../topk';
import { AttributionError } from './errors';
import { capNote, dot, ffnReadout, frozenReadout, preCapLogit } from './readout';
import { EXACT_RTOL, type ComponentKind, type PositionTrace } from './trace';

export interface TokenRef {
  id: number;
  text: string;
}

export interface ComponentScore {
  name: string;
  kind: ComponentKind | 'bias';
  layer: number | null;
  score: number;
}

export interface MemoryScore {
  layer: number;
  key: number;
  coeff: number;
  score: number;
}

export interface Attribution {
  position: number;
  target: TokenRef;
  contrast: TokenRef | null;
  /** The model's logit of the target (minus the contrast's) at the position (before soft-capping: see note). */
  logit: number;
  /** What `logit` is when it is not the model's output as is (Gemma 2: the pre-cap logit); null otherwise. */
  note: string | null;
  /** Embeddings, each layer's attention and FFN, and the constant `bias` (β·u + unembedding bias); they sum to `logit`. */
  components: ComponentScore[];
  /** The `top` memories by |score| over all layers, largest first. */
  memories: MemoryScore[];
  /** Per layer, the score of the FFN's output bias: with the layer's memories it makes the FFN's score. */
  ffnBias: number[];
  /** Every memory's score, per layer [dFf]. */
  memoryScores: Float32Array[];
}

export interface AttributeOptions {
  /** Token id to explain; default the model's top prediction at the position. */
  target?: number;
  /** Token id to explain the target against (logit difference); default none. */
  contrast?: number | null;
  /** How many memories to list (default 20). */
  top?: number;
}

export type MemoryOrder = 'abs' | 'support' | 'oppose';

export interface RankOptions {
  /** How many (default 20). */
  k?: number;
  /** By |score| (abs, default), by score (support) or by −score (oppose); the signed orders keep only that sign. */
  order?: MemoryOrder;
  /** Only this layer's memories; default all layers. */
  layer?: number;
}

/** The strongest memories of an attribution's scores, in the order asked for. */
export function rankMemories(trace: PositionTrace, memoryScores: Float32Array[], opts: RankOptions = {}): MemoryScore[] {
  const { k = 20, order = 'abs', layer } = opts;
  const dFf = memoryScores[0]?.length ?? 0;
  const layers = layer === undefined ? memoryScores.map((_, l) => l) : [layer];
  const flat = new Float32Array(layers.length * dFf);
  layers.forEach((l, row) => {
    const s = memoryScores[l];
    for (let i = 0; i < dFf; i++) flat[row * dFf + i] = order === 'abs' ? Math.abs(s[i]) : order === 'support' ? s[i] : -s[i];
  });
  return topK(flat, 0, flat.length, k)
    .filter((h) => order === 'abs' || h.value > 0)
    .map(({ index }) => {
      const l = layers[Math.floor(index / dFf)];
      const key = index % dFf;
      return { layer: l, key, coeff: trace.coeffs[l][key], score: memoryScores[l][key] };
    });
}

function checkToken(model: Model, id: number, what: string): void {
  if (!(Number.isInteger(id) && id >= 0 && id < model.config.vocabSize)) throw new AttributionError(`${what} id ${id} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Memory scores m_i · (v_i · r) of one layer, and its output bias's score b · r (+ the post-norm's bias, if any). */
function layerScores(model: Model, layer: number, coeffs: Float32Array, ffnOut: Float32Array, residual: Float64Array): { scores: Float32Array; bias: number } {
  const { direction, offset } = ffnReadout(model, layer, ffnOut, residual);
  const values = model.values(layer).data;
  const d = direction.length;
  const scores = new Float32Array(coeffs.length);
  // the hot loop of attribution (d_ff × d_model per layer), kept monomorphic
  for (let i = 0; i < coeffs.length; i++) {
    if (coeffs[i] === 0) continue;
    let s = 0;
    for (let j = 0, o = i * d; j < d; j++, o++) s += values[o] * direction[j];
    scores[i] = coeffs[i] * s;
  }
  const bias = model.valueBias(layer);
  return { scores, bias: (bias ? dot(bias.data, direction) : 0) + offset };
}

function refuse(model: Model, what: string, got: number, want: number): never {
  throw new AttributionError(
    `attribution cannot describe ${model.info.family} (${model.info.modelType}) exactly yet: ${what} (${got.toFixed(5)} vs ${want.toFixed(5)}); ` +
      'its logit needs a rule in src/core/analysis/attribution/readout.ts',
  );
}

export function attribute(model: Model, trace: PositionTrace, opts: AttributeOptions = {}): Attribution {
  const target = opts.target ?? argmax(trace.logits);
  const contrast = opts.contrast ?? null;
  checkToken(model, target, 'target');
  if (contrast !== null) {
    checkToken(model, contrast, 'contrast');
    if (contrast === target) throw new AttributionError('the contrast token is the target itself: their logit difference is 0 by definition');
  }
  const readout = frozenReadout(model, trace.resid, target, contrast);
  const components: ComponentScore[] = trace.components.map((c) => ({ name: c.name, kind: c.kind, layer: c.layer, score: dot(c.vector, readout.direction) }));
  components.push({ name: 'bias', kind: 'bias', layer: null, score: readout.constant });

  const logit = preCapLogit(model, trace.logits[target]) - (contrast === null ? 0 : preCapLogit(model, trace.logits[contrast]));
  const total = components.reduce((a, c) => a + c.score, 0);
  const magnitude = components.reduce((a, c) => a + Math.abs(c.score), 0);
  if (Math.abs(total - logit) > EXACT_RTOL * magnitude + 1e-4) refuse(model, 'the final norm read through the unembedding does not give its logits', total, logit);

  const memoryScores: Float32Array[] = [];
  const ffnBias: number[] = [];
  trace.coeffs.forEach((coeffs, layer) => {
    const { scores, bias } = layerScores(model, layer, coeffs, trace.ffnOut[layer], readout.direction);
    memoryScores.push(scores);
    ffnBias.push(bias);
    const ffn = components.find((c) => c.kind === 'mlp' && c.layer === layer)!;
    let sum = bias;
    let mag = Math.abs(bias);
    for (const s of scores) {
      sum += s;
      mag += Math.abs(s);
    }
    if (Math.abs(sum - ffn.score) > EXACT_RTOL * mag + 1e-4) refuse(model, `layer ${layer}'s memories do not add up to its FFN output`, sum, ffn.score);
  });

  const tokenRef = (id: number): TokenRef => ({ id, text: model.tokenizer.tokenText(id) });
  return {
    position: trace.position,
    target: tokenRef(target),
    contrast: contrast === null ? null : tokenRef(contrast),
    logit,
    note: capNote(model),
    components,
    memories: rankMemories(trace, memoryScores, { k: opts.top ?? 20 }),
    ffnBias,
    memoryScores,
  };
}
