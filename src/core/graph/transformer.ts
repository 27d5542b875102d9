/**
 * Builds the instrumented forward graph of a canonical model: token ids in, logits and
 * every hook out, with coefficient-patch inputs on every FFN.
 */
import type { CanonicalModel, ModelConfig } from '../arch/types';
import { validateShapes } from '../arch/validate';
import { candidateHook, FINAL_NORM, hookName, LOGITS, PREDICTION_IDS, PREDICTION_K, PREDICTION_PROBS } from '../hooks';
import { DataType } from '../onnx/model';
import { block, linear, norm, type SharedInputs } from './blocks';
import { GraphBuilder } from './builder';

export const INPUT_IDS = 'input_ids';
/** Bool scalars: compute the logits / the prediction hooks (which need the logits) in this run. */
export const WANT_LOGITS = 'want_logits';
export const WANT_PREDICTIONS = 'want_predictions';
/** Bool scalar: compute the candidate hooks (blocks.{l}.mlp.candidates) in this run. */
export const WANT_CANDIDATES = 'want_candidates';
/** Float per-key floors of layer l's candidates, [dFf] or [1] (broadcast over the keys). */
export const candidateFloorInput = (layer: number): string => `blocks.${layer}.mlp.candidate_floor`;

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
  candidates(g, model);
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

/**
 * The coefficients at or above their key's floor, per layer, as [n, 4] rows of (batch,
 * position, key, coeff). The trigger index compares every coefficient with its key's
 * N-th best; almost all fail, so filtering here spares copying them all out of
 * onnxruntime and comparing them in JavaScript. Compress keeps row-major order, the
 * order the index scans in; it is used on flat indices rather than NonZero on the mask,
 * which onnxruntime runs several times slower (it steps a coordinate per element).
 * Behind a condition: every other run skips it.
 */
function candidates(g: GraphBuilder, model: CanonicalModel): void {
  const dFf = model.config.dFf;
  const floors = model.blocks.map((_, l) => g.input(candidateFloorInput(l), DataType.FLOAT, [`candidate_floor_${l}`]));
  const outputs = model.blocks.map((_, l) => ({ name: candidateHook(l), dataType: DataType.FLOAT }));
  g.conditional(g.input(WANT_CANDIDATES, DataType.BOOL, []), outputs, (b) => {
    // ffn hooks the patched coefficients by renaming their producer's output, so the
    // hook name is the tensor's name (the patch applies before the filter)
    const coeffs = model.blocks.map((_, l) => hookName(l, 'mlp.coeff'));
    // every layer's coefficients are [batch, seq, dFf]: one flat index 0..batch·seq·dFf-1 serves all
    const shape = b.op('Shape', [coeffs[0]]);
    const seq = b.op('Gather', [shape, b.constInt([1], [])]);
    const flat = b.op('Range', [b.constInt([0], []), b.op('ReduceProd', [shape], { keepdims: 0 }), b.constInt([1], [])]);
    const column = (x: string) => b.op('Unsqueeze', [x, b.constInt([1])]);
    return coeffs.map((coeff, l) => {
      const mask = b.op('Reshape', [b.op('GreaterOrEqual', [coeff, floors[l]]), b.constInt([-1])]);
      const at = b.op('Compress', [flat, mask]);
      const value = b.op('Compress', [coeff, mask]);
      const token = b.op('Div', [at, b.constInt([dFf], [])]);
      const key = b.op('Mod', [at, b.constInt([dFf], [])]);
      const where = b.op('Concat', [column(b.op('Div', [token, seq])), column(b.op('Mod', [token, seq])), column(key)], { axis: 1 });
      return b.op('Concat', [b.op('Cast', [where], { to: DataType.FLOAT }), column(value)], { axis: 1 });
    });
  });
}
