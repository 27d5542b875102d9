/**
 * The shared pieces every family's graph is made of: norms, linear layers, attention
 * and the FFN with its memory-coefficient hook and intervention inputs.
 */
import type { Activation, BlockWeights, Linear, ModelConfig, Norm } from '../arch/types';
import { hookName } from '../hooks';
import { DataType } from '../onnx/model';
import type { GraphBuilder } from './builder';
import { patchInputs } from './contract';

export function linear(g: GraphBuilder, x: string, w: Linear, name: string): string {
  const y = g.matmul(x, `${name}.weight`, w.weight);
  return w.bias ? g.op('Add', [y, g.weight(`${name}.bias`, w.bias)]) : y;
}

export function norm(g: GraphBuilder, cfg: ModelConfig, x: string, n: Norm, name: string): string {
  const epsilon = { float: cfg.normEps };
  const scale = g.weight(`${name}.weight`, n.weight);
  if (cfg.norm === 'rms') return g.op('RMSNormalization', [x, scale], { axis: -1, epsilon });
  const bias = n.bias ? [g.weight(`${name}.bias`, n.bias)] : [];
  return g.op('LayerNormalization', [x, scale, ...bias], { axis: -1, epsilon });
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
  rotaryCos?: string;
  rotarySin?: string;
}

function rotary(g: GraphBuilder, cfg: ModelConfig, x: string, heads: number, shared: SharedInputs): string {
  if (cfg.positions !== 'rotary') return x;
  return g.op('RotaryEmbedding', [x, shared.rotaryCos!, shared.rotarySin!, shared.positionIds], {
    num_heads: heads,
    rotary_embedding_dim: cfg.rotaryDim,
    interleaved: 0,
  });
}

export function attention(g: GraphBuilder, cfg: ModelConfig, layer: number, x: string, w: BlockWeights, shared: SharedInputs): string {
  const p = `blocks.${layer}.attn`;
  const q = rotary(g, cfg, linear(g, x, w.q, `${p}.q`), cfg.nHeads, shared);
  const k = rotary(g, cfg, linear(g, x, w.k, `${p}.k`), cfg.nKvHeads, shared);
  const v = linear(g, x, w.v, `${p}.v`);
  const z = g.op('Attention', [q, k, v], {
    is_causal: 1,
    q_num_heads: cfg.nHeads,
    kv_num_heads: cfg.nKvHeads,
    scale: { float: cfg.attnScale[layer] },
  });
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

export function block(g: GraphBuilder, cfg: ModelConfig, layer: number, resid: string, w: BlockWeights, shared: SharedInputs): string {
  resid = g.hook(hookName(layer, 'resid_pre'), resid);
  const attnIn = norm(g, cfg, resid, w.attnNorm, `blocks.${layer}.ln1`);
  const attnOut = g.hook(hookName(layer, 'attn.out'), attention(g, cfg, layer, attnIn, w, shared));
  const mid = g.hook(hookName(layer, 'resid_mid'), g.op('Add', [resid, attnOut]));
  let mlpOut: string;
  if (cfg.parallel) {
    const mlpIn = w.mlpNorm ? norm(g, cfg, resid, w.mlpNorm, `blocks.${layer}.ln2`) : attnIn;
    mlpOut = ffn(g, cfg, layer, mlpIn, w);
  } else {
    mlpOut = ffn(g, cfg, layer, norm(g, cfg, mid, w.mlpNorm!, `blocks.${layer}.ln2`), w);
  }
  return g.hook(hookName(layer, 'resid_post'), g.op('Add', [mid, mlpOut]));
}
