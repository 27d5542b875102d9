/**
 * Builds the instrumented forward graph of a canonical model: token ids in, logits and
 * every hook out, with coefficient-patch inputs on every FFN.
 */
import type { CanonicalModel, ModelConfig, RopeSpec } from '../arch/types';
import { validateShapes } from '../arch/validate';
import { candidateHook, FINAL_NORM, hookName, LOGITS, PREDICTION_IDS, PREDICTION_K, PREDICTION_PROBS } from '../hooks';
import { DataType } from '../onnx/model';
import { block, linear, norm, type SharedInputs } from './blocks';
import { GraphBuilder, type BuilderOptions } from './builder';
import { candidateCeilingInput, candidateFloorInput, INPUT_IDS, WANT_CANDIDATES, WANT_LOGITS, WANT_PREDICTIONS } from './contract';

/** Rotary tables and attention masks, each built on first use and shared by every layer that needs it. */
function sharedInputs(g: GraphBuilder, cfg: ModelConfig, positions: string, positionIds: string, seqLen: string): SharedInputs {
  const tables = new Map<RopeSpec, { cos: string; sin: string }>();
  const masks = new Map<number, string>();
  // angles position·invFreq as one fp32 product each, as transformers' inv_freq @ positions
  const column = g.op('Unsqueeze', [g.op('Cast', [positions], { to: DataType.FLOAT }), g.constInt([1])]);
  return {
    positionIds,
    rotaryTables(spec) {
      if (!tables.has(spec)) {
        const name = `rotary_${tables.size}`;
        let invFreq = g.weight(`${name}.inv_freq`, { data: spec.invFreq, shape: [1, spec.invFreq.length] });
        let factor = g.constFloat([spec.attentionFactor], []);
        if (spec.dynamic) invFreq = dynamicInvFreq(g, spec.dim, spec.dynamic, seqLen, invFreq, name);
        if (spec.long) {
          // LongRoPE switches to its long factors for sequences past the original context
          const useLong = g.op('Greater', [seqLen, g.constInt([spec.long.longAfter], [])]);
          invFreq = g.op('Where', [useLong, g.weight(`${name}.long_inv_freq`, { data: spec.long.invFreq, shape: [1, spec.long.invFreq.length] }), invFreq]);
          factor = g.op('Where', [useLong, g.constFloat([spec.long.attentionFactor], []), factor]);
        }
        // [seq, dim/2] tables computed per run rather than stored for the whole context,
        // which for a 128k-token model would be tens of megabytes per rope
        const angles = g.op('Mul', [column, invFreq]);
        const scaled = (op: string) => (spec.attentionFactor === 1 && !spec.long ? g.op(op, [angles]) : g.op('Mul', [g.op(op, [angles]), factor]));
        tables.set(spec, { cos: scaled('Cos'), sin: scaled('Sin') });
      }
      return tables.get(spec)!;
    },
    attentionMask(window) {
      if (!masks.has(window)) {
        // query i may see key j when 0 ≤ i − j (< window): transformers' causal and sliding-window masks
        const behind = g.op('Sub', [g.op('Unsqueeze', [positions, g.constInt([1])]), g.op('Unsqueeze', [positions, g.constInt([0])])]);
        let allowed = g.op('GreaterOrEqual', [behind, g.constInt([0], [])]);
        if (window) allowed = g.op('And', [allowed, g.op('Less', [behind, g.constInt([window], [])])]);
        masks.set(window, g.op('Where', [allowed, g.constFloat([0], []), g.constFloat([-3.4028234663852886e38], [])]));
      }
      return masks.get(window)!;
    },
  };
}

/**
 * Dynamic NTK's frequencies for this run's length T: 1 / base^(2i/dim) with
 * base = theta·(factor·T/after − (factor − 1))^(dim/(dim − 2)) when T > after, in the fp32
 * steps of transformers' _compute_dynamic_ntk_parameters; `within` (the default rope) otherwise.
 */
function dynamicInvFreq(g: GraphBuilder, dim: number, d: NonNullable<RopeSpec['dynamic']>, seqLen: string, within: string, name: string): string {
  const length = g.op('Cast', [seqLen], { to: DataType.FLOAT });
  const stretch = g.op('Sub', [g.op('Div', [g.op('Mul', [length, g.constFloat([d.factor], [])]), g.constFloat([d.after], [])]), g.constFloat([d.factor - 1], [])]);
  const base = g.op('Mul', [g.op('Pow', [stretch, g.constFloat([dim / (dim - 2)], [])]), g.constFloat([d.theta], [])]);
  const exponents = g.weight(`${name}.exponents`, { data: Float32Array.from({ length: dim / 2 }, (_, i) => (2 * i) / dim), shape: [1, dim / 2] });
  const scaled = g.op('Reciprocal', [g.op('Pow', [base, exponents])]);
  return g.op('Where', [g.op('Greater', [seqLen, g.constInt([d.after], [])]), scaled, within]);
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

  let x = g.embedding(ids, 'embed', model.embed);
  if (cfg.embedScale !== 1) x = g.op('Mul', [x, g.constFloat([cfg.embedScale], [])]);
  if (cfg.positions === 'learned') {
    const rows = cfg.positionOffset ? g.op('Add', [positions, g.constInt([cfg.positionOffset], [])]) : positions;
    x = g.op('Add', [x, g.op('Gather', [g.weight('position_embed', model.positionEmbed!), rows])]);
  }

  const shared = sharedInputs(g, cfg, positions, positionIds, seqLen);

  model.blocks.forEach((w, l) => {
    x = block(g, cfg, l, x, w, shared);
  });
  candidates(g, model);
  const final = g.hook(FINAL_NORM, norm(g, cfg, x, model.finalNorm, 'final_norm'));
  // The vocabulary projection is most of a small model's forward pass and many runs
  // (trigger indexing, statistics) want only coefficients, so it sits behind a condition.
  const keepLogits = g.input(WANT_LOGITS, DataType.BOOL, []);
  const vocab = g.op('Or', [keepLogits, g.input(WANT_PREDICTIONS, DataType.BOOL, [])]);
  g.conditional(
    vocab,
    [
      { name: PREDICTION_PROBS, dataType: DataType.FLOAT },
      { name: PREDICTION_IDS, dataType: DataType.FLOAT },
      { name: LOGITS, dataType: DataType.FLOAT },
    ],
    (b) => vocabularyPass(b, model, final, keepLogits),
  );
  return g;
}

/** Positions per Scan step of the vocabulary pass: 2^24 scores (64 MB) per [rows, vocab] buffer. */
export const vocabRows = (vocabSize: number): number => Math.max(1, Math.floor(2 ** 24 / vocabSize));

/**
 * Top predictions (softmax top-k) at every position, and the logits themselves when
 * `keepLogits` is on. A Scan walks the
 * positions in steps of at most vocabRows(V), so no buffer holds more than a step's
 * scores whatever the text's length: at a 262k-token vocabulary 1,024 positions would
 * otherwise need several 1 GB [positions, vocab] buffers (logits, softmax). Only callers
 * that fetch the logits pay for all of them. Steps are of equal size (Scan needs it), so
 * the positions are padded by fewer rows than there are steps.
 */
function vocabularyPass(g: GraphBuilder, model: CanonicalModel, final: string, keepLogits: string): string[] {
  const cfg = model.config;
  const V = cfg.vocabSize;
  const k = Math.min(PREDICTION_K, V);
  const ceilDiv = (a: string, b: string) => g.op('Div', [g.op('Sub', [g.op('Add', [a, b]), g.constInt([1])]), b]);
  const flat = g.op('Reshape', [final, g.constInt([-1, cfg.dModel])]);
  const n = g.op('Shape', [flat], { start: 0, end: 1 });
  const steps = ceilDiv(n, g.constInt([vocabRows(V)]));
  const rows = ceilDiv(n, steps);
  const pad = g.op('Sub', [g.op('Mul', [steps, rows]), n]);
  const zero = g.constInt([0]);
  const padded = g.op('Pad', [flat, g.op('Concat', [zero, zero, pad, zero], { axis: 0 })]);
  const stacked = g.op('Reshape', [padded, g.op('Concat', [steps, rows, g.constInt([cfg.dModel])], { axis: 0 })]);
  const [probs, ids, logits] = g.scan(stacked, ['rows', cfg.dModel], [['rows', k], ['rows', k], ['kept', V]], (b, x) => {
    const scores = outputLogits(b, cfg, linear(b, x, model.unembed, 'unembed', true));
    // onnxruntime's Softmax sums in vector lanes; ReduceLogSumExp's single float32 running
    // sum lost the small terms behind a dominant one (2e-4 off at 262k tokens)
    const probs = b.op('Softmax', [scores], { axis: -1 });
    const [top, at] = b.opMulti('TopK', [probs, b.constInt([k])], 2, { axis: -1, largest: 1, sorted: 1 });
    // all the step's rows when the logits are kept, none otherwise
    const kept = b.op('Where', [keepLogits, b.op('Shape', [scores], { start: 0, end: 1 }), b.constInt([0])]);
    return [top, b.op('Cast', [at], { to: DataType.FLOAT }), b.op('Slice', [scores, b.constInt([0]), kept, b.constInt([0])])];
  });
  // [steps, rows, width] → the first n rows, as [batch, seq, width]
  const unstack = (t: string, width: number, lead: string) =>
    g.op('Reshape', [g.op('Slice', [g.op('Reshape', [t, g.constInt([-1, width])]), zero, n, zero]), g.op('Concat', [lead, g.constInt([width])], { axis: 0 })]);
  const batchSeq = g.op('Shape', [final], { start: 0, end: 2 });
  // logits left out are [batch, 0, vocab]
  const batchAny = g.op('Concat', [g.op('Shape', [final], { start: 0, end: 1 }), g.constInt([-1])], { axis: 0 });
  return [unstack(probs, k, batchSeq), unstack(ids, k, batchSeq), unstack(logits, V, batchAny)];
}

/** Granite's logits_scaling and Gemma 2's final soft-capping, cap·tanh(logits / cap). */
function outputLogits(g: GraphBuilder, cfg: ModelConfig, logits: string): string {
  if (cfg.logitDivisor !== 1) logits = g.op('Div', [logits, g.constFloat([cfg.logitDivisor], [])]);
  if (!cfg.finalSoftcap) return logits;
  const cap = g.constFloat([cfg.finalSoftcap], []);
  return g.op('Mul', [g.op('Tanh', [g.op('Div', [logits, cap])]), cap]);
}

/**
 * The coefficients at or above their key's floor, per layer, as [n, 4] rows of (batch,
 * position, key, coeff) in the coefficients' row-major order, the order the index scans
 * in. The trigger index compares every coefficient with its key's N-th best; almost all
 * fail, so filtering here spares copying them all out of onnxruntime and comparing them
 * in JavaScript. Behind a condition: every other run skips it. A gated FFN's index is
 * signed and also keeps each key's N most negative coefficients, so its graph takes a
 * ceiling per key as well and keeps m ≥ floor or m ≤ ceiling (an ungated graph is
 * unchanged: one comparison).
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
  const ceilings = model.config.gated ? model.blocks.map((_, l) => g.input(candidateCeilingInput(l), DataType.FLOAT, [`candidate_ceiling_${l}`])) : null;
  const outputs = model.blocks.map((_, l) => ({ name: candidateHook(l), dataType: DataType.FLOAT }));
  g.conditional(g.input(WANT_CANDIDATES, DataType.BOOL, []), outputs, (b) => {
    const int = (v: number) => b.constInt([v], []);
    const column = (x: string) => b.op('Unsqueeze', [x, b.constInt([1])]);
    // ffn hooks the patched coefficients by renaming their producer's output, so the
    // hook name is the tensor's name (the patch applies before the filter)
    const coeffs = model.blocks.map((_, l) => hookName(l, 'mlp.coeff'));
    const seq = b.op('Gather', [b.op('Shape', [coeffs[0]]), int(1)]);
    return coeffs.map((coeff, l) => {
      const kept = b.op('GreaterOrEqual', [coeff, floors[l]]);
      const keptSigned = ceilings ? b.op('Or', [kept, b.op('LessOrEqual', [coeff, ceilings[l]])]) : kept;
      // uint8, not bool: ReduceMax over bool ran several times slower
      const mask = b.op('Cast', [keptSigned], { to: DataType.UINT8 });
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
