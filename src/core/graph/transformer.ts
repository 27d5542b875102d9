/**
 * Builds the instrumented forward graph of a canonical model: token ids in, logits and
 * every hook out, with coefficient-patch inputs on every FFN.
 */
import type { CanonicalModel, ModelConfig } from '../arch/types';
import { validateShapes } from '../arch/validate';
import { FINAL_NORM, LOGITS, PREDICTION_IDS, PREDICTION_K, PREDICTION_PROBS } from '../hooks';
import { DataType } from '../onnx/model';
import { block, linear, norm, type SharedInputs } from './blocks';
import { GraphBuilder } from './builder';

export const INPUT_IDS = 'input_ids';
/** Bool scalars: compute the logits / the prediction hooks (which need the logits) in this run. */
export const WANT_LOGITS = 'want_logits';
export const WANT_PREDICTIONS = 'want_predictions';

/**
 * cos/sin tables for RotaryEmbedding, [positions, rotaryDim/2], computed in fp32 steps
 * the way Hugging Face computes them so the angles round the same.
 */
export function rotaryTables(cfg: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const half = cfg.rotaryDim / 2;
  const f = Math.fround;
  const invFreq = Array.from({ length: half }, (_, i) => f(1 / f(f(cfg.ropeTheta) ** f((2 * i) / cfg.rotaryDim))));
  const cos = new Float32Array(cfg.contextSize * half);
  const sin = new Float32Array(cfg.contextSize * half);
  for (let p = 0; p < cfg.contextSize; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function buildTransformerGraph(model: CanonicalModel): GraphBuilder {
  validateShapes(model);
  const cfg = model.config;
  const g = new GraphBuilder(`ffn-lens:${cfg.family}`);
  const ids = g.input(INPUT_IDS, DataType.INT64, ['batch', 'seq']);

  // positions 0..seq-1 as [batch, seq], derived from the ids' shape
  const shape = g.op('Shape', [ids]);
  const seqLen = g.op('Squeeze', [g.op('Slice', [shape, g.constInt([1]), g.constInt([2])])]);
  const positions = g.op('Range', [g.constInt([0], []), seqLen, g.constInt([1], [])]);
  const positionIds = g.op('Expand', [g.op('Unsqueeze', [positions, g.constInt([0])]), shape]);

  let x = g.op('Gather', [g.weight('embed', model.embed), ids]);
  if (cfg.embedScale !== 1) x = g.op('Mul', [x, g.constFloat([cfg.embedScale], [])]);
  if (cfg.positions === 'learned') {
    const rows = cfg.positionOffset ? g.op('Add', [positions, g.constInt([cfg.positionOffset], [])]) : positions;
    x = g.op('Add', [x, g.op('Gather', [g.weight('position_embed', model.positionEmbed!), rows])]);
  }

  const shared: SharedInputs = { positionIds };
  if (cfg.positions === 'rotary') {
    const t = rotaryTables(cfg);
    shared.rotaryCos = g.weight('rotary_cos', { data: t.cos, shape: [cfg.contextSize, cfg.rotaryDim / 2] });
    shared.rotarySin = g.weight('rotary_sin', { data: t.sin, shape: [cfg.contextSize, cfg.rotaryDim / 2] });
  }

  model.blocks.forEach((w, l) => {
    x = block(g, cfg, l, x, w, shared);
  });
  const final = g.hook(FINAL_NORM, norm(g, cfg, x, model.finalNorm, 'final_norm'));
  // The vocabulary projection is most of a small model's forward pass and many runs
  // (trigger indexing, statistics) want only coefficients, so it too is conditional.
  const [logits] = g.conditional(g.input(WANT_LOGITS, DataType.BOOL, []), [{ name: LOGITS, dataType: DataType.FLOAT }], (b) => [linear(b, final, model.unembed, 'unembed')]);
  // Top predictions in the graph, since a softmax over the vocabulary at every position
  // is the most expensive loop a caller would otherwise write in JavaScript; behind a
  // condition, so runs that do not fetch them do not pay for them.
  const want = g.input(WANT_PREDICTIONS, DataType.BOOL, []);
  g.conditional(
    want,
    [
      { name: PREDICTION_PROBS, dataType: DataType.FLOAT },
      { name: PREDICTION_IDS, dataType: DataType.FLOAT },
    ],
    (b) => {
      const probs = b.op('Softmax', [logits], { axis: -1 });
      const [topProbs, topIds] = b.opMulti('TopK', [probs, b.constInt([Math.min(PREDICTION_K, cfg.vocabSize)])], 2, { axis: -1, largest: 1, sorted: 1 });
      return [topProbs, b.op('Cast', [topIds], { to: DataType.FLOAT })];
    },
  );
  return g;
}
