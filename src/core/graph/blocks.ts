/**
 * The shared pieces every family's graph is made of: norms, linear layers, attention
 * and the FFN with its memory-coefficient hook and intervention inputs.
 */
import type { Activation, BlockWeights, Linear, ModelConfig, Norm, RopeSpec } from '../arch/types';
import { hookName } from '../hooks';
import { DataType } from '../onnx/model';
import type { GraphBuilder } from './builder';
import { patchInputs } from './contract';

/** x·W + b; `rows` when x is 2-D [n, in], which lets the weight keep its checkpoint orientation (GraphBuilder.matmulRows). */
export function linear(g: GraphBuilder, x: string, w: Linear, name: string, rows = false): string {
  const y = rows ? g.matmulRows(x, `${name}.weight`, w.weight) : g.matmul(x, `${name}.weight`, w.weight);
  return w.bias ? g.op('Add', [y, g.weight(`${name}.bias`, w.bias)]) : y;
}

export function norm(g: GraphBuilder, cfg: ModelConfig, x: string, n: Norm, name: string): string {
  if (cfg.norm === 'rms') return rmsNorm(g, cfg, x, n, name);
  const bias = n.bias ? [g.weight(`${name}.bias`, n.bias)] : [];
  return g.op('LayerNormalization', [x, g.weight(`${name}.weight`, n.weight), ...bias], { axis: -1, epsilon: { float: cfg.normEps } });
}

function rmsNorm(g: GraphBuilder, cfg: ModelConfig, x: string, n: Norm, name: string): string {
  return g.op('RMSNormalization', [x, g.weight(`${name}.weight`, n.weight)], { axis: -1, epsilon: { float: cfg.normEps } });
}

export function activation(g: GraphBuilder, x: string, act: Activation): string {
  switch (act) {
    case 'gelu':
      return g.op('Gelu', [x]);
    case 'gelu_tanh':
      return g.op('Gelu', [x], { approximate: 'tanh' });
    case 'relu':
      return g.op('Relu', [x]);
    case 'silu':
      return g.op('Mul', [x, g.op('Sigmoid', [x])]);
  }
}

/** Tensors computed once per graph and shared by every layer. */
export interface SharedInputs {
  /** [batch, seq] int64 positions 0..seq-1, for rotary embeddings. */
  positionIds: string;
  /** cos/sin tables of a rotary embedding, built once per distinct RopeSpec. */
  rotaryTables(spec: RopeSpec): { cos: string; sin: string };
  /** The additive [seq, seq] attention mask for a window (0 = plain causal), built once per window. */
  attentionMask(window: number): string;
}

function rotary(g: GraphBuilder, spec: RopeSpec | undefined, x: string, heads: number, shared: SharedInputs): string {
  if (!spec) return x;
  const t = shared.rotaryTables(spec);
  return g.op('RotaryEmbedding', [x, t.cos, t.sin, shared.positionIds], {
    num_heads: heads,
    rotary_embedding_dim: spec.dim,
    interleaved: spec.interleaved ? 1 : 0,
  });
}

/** [batch, seq, heads·headDim] → [batch, seq, heads, headDim] (0 keeps a dimension). */
const splitHeads = (g: GraphBuilder, x: string, heads: number, headDim: number) => g.op('Reshape', [x, g.constInt([0, 0, heads, headDim])]);
const mergeHeads = (g: GraphBuilder, x: string) => g.op('Reshape', [x, g.constInt([0, 0, -1])]);

/** RMS norm of queries or keys, per head (Qwen3, Gemma 3) or over the whole projection (OLMo 2). */
function qkNorm(g: GraphBuilder, cfg: ModelConfig, x: string, n: Norm | undefined, heads: number, name: string): string {
  if (cfg.qkNorm === 'none') return x;
  if (!n) throw new Error(`${name}: the config asks for q/k norms but the checkpoint has none`);
  if (cfg.qkNorm === 'projection') return rmsNorm(g, cfg, x, n, name);
  return mergeHeads(g, rmsNorm(g, cfg, splitHeads(g, x, heads, cfg.headDim), n, name));
}

export function attention(g: GraphBuilder, cfg: ModelConfig, layer: number, x: string, w: BlockWeights, shared: SharedInputs): string {
  const p = `blocks.${layer}.attn`;
  const spec = cfg.rope[layer];
  const q = rotary(g, spec, qkNorm(g, cfg, linear(g, x, w.q, `${p}.q`), w.qNorm, cfg.nHeads, `${p}.q_norm`), cfg.nHeads, shared);
  const k = rotary(g, spec, qkNorm(g, cfg, linear(g, x, w.k, `${p}.k`), w.kNorm, cfg.nKvHeads, `${p}.k_norm`), cfg.nKvHeads, shared);
  const v = linear(g, x, w.v, `${p}.v`);
  const window = cfg.attnWindow[layer];
  // onnxruntime 1.30 (CPU) soft-caps the scores before masking them, as Gemma 2 does; the
  // gemma2 conformance set, with a sliding and a full layer, checks that it stays so
  const attrs = { q_num_heads: cfg.nHeads, kv_num_heads: cfg.nKvHeads, scale: { float: cfg.attnScale[layer] }, ...(cfg.attnSoftcap ? { softcap: { float: cfg.attnSoftcap } } : {}) };
  const z = window ? g.op('Attention', [q, k, v, shared.attentionMask(window)], attrs) : g.op('Attention', [q, k, v], { ...attrs, is_causal: 1 });
  return linear(g, z, w.o, `${p}.o`);
}

/**
 * The FFN as key–value memories: coeff = f(x·K) (or f(x·K_g)·(x·K_u)), patched by the
 * intervention inputs, then coeff·V. The patch is a scatter of n entries, so an empty
 * patch costs one copy of the coefficients and nothing else.
 */
export function ffn(g: GraphBuilder, cfg: ModelConfig, layer: number, x: string, w: BlockWeights): string {
  const p = `blocks.${layer}.mlp`;
  x = g.hook(hookName(layer, 'mlp.in'), x);
  const up = linear(g, x, w.up, `${p}.up`);
  const raw = w.gate ? g.op('Mul', [activation(g, linear(g, x, w.gate, `${p}.gate`), cfg.act), up]) : activation(g, up, cfg.act);

  const names = patchInputs(layer);
  const index = g.input(names.index, DataType.INT64, [`patches_${layer}`, 3]);
  const scale = g.input(names.scale, DataType.FLOAT, [`patches_${layer}`]);
  const shift = g.input(names.shift, DataType.FLOAT, [`patches_${layer}`]);
  const patched = g.op('Add', [g.op('Mul', [g.op('GatherND', [raw, index]), scale]), shift]);
  const coeff = g.hook(hookName(layer, 'mlp.coeff'), g.op('ScatterND', [raw, index, patched]));

  return g.hook(hookName(layer, 'mlp.out'), linear(g, coeff, w.down, `${p}.down`));
}

/**
 * What a branch adds to the residual stream: its output, through the norm that follows
 * it where the family has one (Gemma 2/3, OLMo 2), times Granite's residual multiplier.
 */
function branchOutput(g: GraphBuilder, cfg: ModelConfig, x: string, post: Norm | undefined, name: string): string {
  const y = post ? norm(g, cfg, x, post, name) : x;
  return cfg.residualScale === 1 ? y : g.op('Mul', [y, g.constFloat([cfg.residualScale], [])]);
}

export function block(g: GraphBuilder, cfg: ModelConfig, layer: number, resid: string, w: BlockWeights, shared: SharedInputs): string {
  const p = `blocks.${layer}`;
  resid = g.hook(hookName(layer, 'resid_pre'), resid);
  const attnIn = w.attnNorm ? norm(g, cfg, resid, w.attnNorm, `${p}.ln1`) : resid;
  const attnOut = g.hook(hookName(layer, 'attn.out'), branchOutput(g, cfg, attention(g, cfg, layer, attnIn, w, shared), w.attnPostNorm, `${p}.ln1_post`));
  const mid = g.hook(hookName(layer, 'resid_mid'), g.op('Add', [resid, attnOut]));
  // parallel blocks (GPT-J, GPT-NeoX, Phi) feed the FFN from the block input, through its own norm or attention's
  const ffnIn = cfg.parallel ? (w.mlpNorm ? norm(g, cfg, resid, w.mlpNorm, `${p}.ln2`) : attnIn) : w.mlpNorm ? norm(g, cfg, mid, w.mlpNorm, `${p}.ln2`) : mid;
  const mlpOut = g.hook(hookName(layer, 'mlp.out_post'), branchOutput(g, cfg, ffn(g, cfg, layer, ffnIn, w), w.mlpPostNorm, `${p}.ln2_post`));
  return g.hook(hookName(layer, 'resid_post'), g.op('Add', [mid, mlpOut]));
}
