/**
 * Inspect a text: per layer and position the strongest memories, and the model's
 * next-token predictions. The JSON form of this result is the CLI's `inspect --json`.
 */
import { hookName, PREDICTION_IDS, PREDICTION_K, PREDICTION_PROBS } from '../hooks';
import type { Model, ModelInfo } from '../model';
import type { HookTensor } from '../runtime/session';
import type { TokenSpan } from '../tokenize/types';
import { activeTest, type ActiveTest } from './active';
import { topK, topKByMagnitude } from './topk';

export interface MemoryHit {
  key: number;
  coeff: number;
}

export interface PositionMemories {
  top: MemoryHit[];
  /** Memories whose coefficient exceeds the threshold (for gated FFNs, whose |coefficient| does: see active.ts). */
  active: number;
  maxCoeff: number;
}

export interface TokenPrediction {
  id: number;
  text: string;
  prob: number;
}

export interface InspectResult {
  model: ModelInfo;
  tokens: TokenSpan[];
  layers: { layer: number; positions: PositionMemories[] }[];
  predictions: TokenPrediction[][];
}

export interface InspectOptions {
  topK?: number;
  threshold?: number;
  predictions?: number;
}

/** Token ids of a text, checked against what one forward pass can take. */
export function tokensFor(model: Model, text: string): TokenSpan[] {
  if (text.trim().length === 0) throw new Error('nothing to inspect: the text is empty');
  const tokens = model.tokenizer.encodeWithOffsets(text);
  if (tokens.length > model.config.contextSize) {
    throw new Error(`the text is ${tokens.length} tokens but ${model.info.name} reads at most ${model.config.contextSize}; inspect a shorter selection`);
  }
  return tokens;
}

/** Top-n next-token predictions at each position, from the graph's prediction hooks. */
export function predictionsFrom(model: Model, out: Map<string, HookTensor>, n: number): TokenPrediction[][] {
  const probs = out.get(PREDICTION_PROBS)!;
  const ids = out.get(PREDICTION_IDS)!;
  const [, seq, k] = probs.dims;
  if (n > PREDICTION_K) throw new Error(`at most ${PREDICTION_K} predictions per position`);
  return Array.from({ length: seq }, (_, t) =>
    Array.from({ length: Math.min(n, k) }, (_, i) => {
      const id = ids.data[t * k + i];
      return { id, text: model.tokenizer.tokenText(id), prob: probs.data[t * k + i] };
    }),
  );
}

/** The hooks predictionsFrom reads. */
export const PREDICTION_HOOKS = [PREDICTION_PROBS, PREDICTION_IDS];

/**
 * A position's strongest memories: by coefficient, or for gated FFNs (`byMagnitude`) by
 * |coefficient|, so a memory that pushes the opposite way is listed too.
 */
export function memoriesAt(coeff: HookTensor, t: number, k: number, threshold: number, isActive: ActiveTest, byMagnitude = false): PositionMemories {
  const dFf = coeff.dims[2];
  const offset = t * dFf;
  let active = 0;
  let maxCoeff = -Infinity;
  for (let i = 0; i < dFf; i++) {
    const c = coeff.data[offset + i];
    if (isActive(c, threshold)) active++;
    if (c > maxCoeff) maxCoeff = c;
  }
  return { top: (byMagnitude ? topKByMagnitude : topK)(coeff.data, offset, dFf, k).map((s) => ({ key: s.index, coeff: s.value })), active, maxCoeff };
}

export async function inspect(model: Model, text: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const k = opts.topK ?? 10;
  const threshold = opts.threshold ?? 0;
  const tokens = tokensFor(model, text);
  const coeffHooks = Array.from({ length: model.config.nLayers }, (_, l) => hookName(l, 'mlp.coeff'));
  const isActive = activeTest(model.config);
  const out = await model.run([tokens.map((t) => t.id)], [...coeffHooks, ...PREDICTION_HOOKS]);
  const layers = coeffHooks.map((h, layer) => ({
    layer,
    positions: tokens.map((_, t) => memoriesAt(out.get(h)!, t, k, threshold, isActive, model.config.gated)),
  }));
  return { model: model.info, tokens, layers, predictions: predictionsFrom(model, out, opts.predictions ?? 5) };
}
