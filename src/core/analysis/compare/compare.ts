/**
 * A minimal pair: two texts through the same model, and the memories whose coefficients differ
 * most between them, per layer, with their value tokens, beside each text's next-token
 * predictions. Positions are paired token by token when the texts have the same length and from
 * the end otherwise ("The nurse said that he" / "she" pairs each word; a longer prefix on one side
 * still pairs the last tokens, where the prediction is made). A memory's difference is the
 * largest |m_B − m_A| over the paired positions, reported with the pair where it occurs.
 */
import { hookName } from '../../hooks';
import type { Model, ModelInfo } from '../../model';
import type { TokenSpan } from '../../tokenize/types';
import { predictionsFrom, PREDICTION_HOOKS, tokensFor, type TokenPrediction } from '../inspect';
import { topK } from '../topk';
import { decodeValue } from '../values';

export type Alignment = 'token' | 'end';

export interface CompareOptions {
  /** Memories kept per layer (default 8). */
  memories?: number;
  /** Value tokens shown per memory (default 5). */
  valueTokens?: number;
  /** Next-token predictions per text (default 10). */
  predictions?: number;
  finalNorm?: boolean;
}

export interface CompareSide {
  text: string;
  tokens: TokenSpan[];
  /** Next-token predictions after the text's last token. */
  predictions: TokenPrediction[];
}

export interface MemoryDifference {
  layer: number;
  key: number;
  /** The paired positions (in A and in B) where the coefficients differ most. */
  positionA: number;
  positionB: number;
  coeffA: number;
  coeffB: number;
  /** coeffB − coeffA */
  delta: number;
  /** The value vector's top tokens. */
  value: TokenPrediction[];
}

export interface CompareResult {
  model: ModelInfo;
  a: CompareSide;
  b: CompareSide;
  alignment: Alignment;
  /** Paired positions [in A, in B], first to last. */
  pairs: [number, number][];
  layers: { layer: number; memories: MemoryDifference[] }[];
}

/** Position pairs: token by token for equal lengths, else the last min(n, m) tokens from the end. */
export function alignPositions(n: number, m: number): { alignment: Alignment; pairs: [number, number][] } {
  const k = Math.min(n, m);
  const pairs = Array.from({ length: k }, (_, i): [number, number] => [n - k + i, m - k + i]);
  return { alignment: n === m ? 'token' : 'end', pairs };
}

export async function compareTexts(model: Model, textA: string, textB: string, opts: CompareOptions = {}): Promise<CompareResult> {
  const keep = opts.memories ?? 8;
  const valueK = Math.min(opts.valueTokens ?? 5, model.config.vocabSize);
  const nPred = opts.predictions ?? 10;
  const { nLayers, dFf } = model.config;
  const hooks = Array.from({ length: nLayers }, (_, l) => hookName(l, 'mlp.coeff'));
  const tokA = tokensFor(model, textA);
  const tokB = tokensFor(model, textB);
  // two runs: the texts' lengths may differ, and padding would change nothing but cost
  const outA = await model.run([tokA.map((t) => t.id)], [...hooks, ...PREDICTION_HOOKS]);
  const outB = await model.run([tokB.map((t) => t.id)], [...hooks, ...PREDICTION_HOOKS]);
  const { alignment, pairs } = alignPositions(tokA.length, tokB.length);

  const layers: CompareResult['layers'] = [];
  for (let layer = 0; layer < nLayers; layer++) {
    const a = outA.get(hooks[layer])!.data;
    const b = outB.get(hooks[layer])!.data;
    // per key: the largest |Δ| over the pairs, and which pair
    const best = new Float32Array(dFf).fill(-1);
    const where = new Int32Array(dFf);
    pairs.forEach(([i, j], p) => {
      for (let k = 0; k < dFf; k++) {
        const d = Math.abs(b[j * dFf + k] - a[i * dFf + k]);
        if (d > best[k]) {
          best[k] = d;
          where[k] = p;
        }
      }
    });
    const memories: MemoryDifference[] = [];
    for (const { index: key } of topK(best, 0, dFf, Math.min(keep, dFf))) {
      const [i, j] = pairs[where[key]];
      const coeffA = a[i * dFf + key];
      const coeffB = b[j * dFf + key];
      const value = (await decodeValue(model, layer, key, valueK, { finalNorm: opts.finalNorm })).top;
      memories.push({ layer, key, positionA: i, positionB: j, coeffA, coeffB, delta: coeffB - coeffA, value });
    }
    layers.push({ layer, memories });
  }
  const last = (out: typeof outA, n: number) => predictionsFrom(model, out, nPred)[n - 1];
  return {
    model: model.info,
    a: { text: textA, tokens: tokA, predictions: last(outA, tokA.length) },
    b: { text: textB, tokens: tokB, predictions: last(outB, tokB.length) },
    alignment,
    pairs,
    layers,
  };
}
