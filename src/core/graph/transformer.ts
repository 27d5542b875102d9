/**
 * Builds the instrumented forward graph of a canonical model: token ids in, logits and
 * every hook out, with coefficient-patch inputs on every FFN.
 */
import type { CanonicalModel, ModelConfig } from '../arch/types';
import { validateShapes } from '../arch/validate';
import { candidateHook, FINAL_NORM, hookName, LOGITS, PREDICTION_IDS, PREDICTION_K, PREDICTION_PROBS } from '../hooks';
import { DataType } from '../onnx/model';
import { block, linear, norm, type SharedInputs } from './blocks';
import { GraphBuilder, type BuilderOptions } from './builder';
import { candidateFloorInput, INPUT_IDS, WANT_CANDIDATES, WANT_LOGITS, WANT_PREDICTIONS } from './contract';

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

export function buildTransformerGraph(model: CanonicalModel, opts: BuilderOptions = {}): GraphBuilder {
  validateShapes(model);
  const cfg = model.config;
  const g = new GraphBuilder(`ffn-lens:${cfg.family}`, undefined, opts);
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
 * position, key, coeff) in the coefficients' row-major order, the order the index scans
 * in. The trigger index compares every coefficient with its key's N-th best; almost all
 * fail, so filtering here spares copying them all out of onnxruntime and comparing them
 * in JavaScript. Behind a condition: every other run skips it.
 *
 * Two levels, because onnxruntime's NonZero costs about 2 ns an element (several times
 * the comparison) and Compress more: NonZero runs over blocks of up to 64 keys that
 * hold a candidate, then over those blocks' masks. On gpt2-books this took a filter of
 * a 512-token batch from about 10 ms to 3.
 */
function candidates(g: GraphBuilder, model: CanonicalModel): void {
  const dFf = model.config.dFf;
  let block = 64;
  while (dFf % block) block /= 2;
  const floors = model.blocks.map((_, l) => g.input(candidateFloorInput(l), DataType.FLOAT, [`candidate_floor_${l}`]));
  const outputs = model.blocks.map((_, l) => ({ name: candidateHook(l), dataType: DataType.FLOAT }));
  g.conditional(g.input(WANT_CANDIDATES, DataType.BOOL, []), outputs, (b) => {
    const int = (v: number) => b.constInt([v], []);
    const column = (x: string) => b.op('Unsqueeze', [x, b.constInt([1])]);
    // ffn hooks the patched coefficients by renaming their producer's output, so the
    // hook name is the tensor's name (the patch applies before the filter)
    const coeffs = model.blocks.map((_, l) => hookName(l, 'mlp.coeff'));
    const seq = b.op('Gather', [b.op('Shape', [coeffs[0]]), int(1)]);
    return coeffs.map((coeff, l) => {
      // uint8, not bool: ReduceMax over bool ran several times slower
      const mask = b.op('Cast', [b.op('GreaterOrEqual', [coeff, floors[l]])], { to: DataType.UINT8 });
      const blocks = b.op('Reshape', [mask, b.constInt([-1, block])]);
      const hit = b.op('Reshape', [b.op('NonZero', [b.op('ReduceMax', [blocks, b.constInt([1])], { keepdims: 0 })]), b.constInt([-1])]);
      const at = b.op('NonZero', [b.op('Gather', [blocks, hit], { axis: 0 })]);
      const flat = b.op('Add', [b.op('Mul', [b.op('Gather', [hit, b.op('Gather', [at, int(0)])]), int(block)]), b.op('Gather', [at, int(1)])]);
      const value = b.op('Gather', [b.op('Reshape', [coeff, b.constInt([-1])]), flat]);
      const token = b.op('Div', [flat, int(dFf)]);
      const where = b.op('Concat', [column(b.op('Div', [token, seq])), column(b.op('Mod', [token, seq])), column(b.op('Mod', [flat, int(dFf)]))], { axis: 1 });
      return b.op('Concat', [b.op('Cast', [where], { to: DataType.FLOAT }), column(value)], { axis: 1 });
    });
  });
}
