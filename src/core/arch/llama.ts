/**
 * Llama and the families that share its layout (Mistral, Qwen2, Qwen3, SmolLM3): RMSNorm,
 * rotary attention with grouped KV heads, gated SiLU FFN. Biases are picked up where the
 * checkpoint has them (Qwen2's q/k/v), per-head q/k norms where the config asks (Qwen3),
 * sliding windows per layer where the config sets them (Mistral, Qwen).
 */
import type { WeightStore } from '../load/weights';
import { activation, attnWindows, isOff, preview, refuseUnless, bool, count, headSize, layerTypes, LIMITS, modelConfig, num, rotary, type RawConfig, type RotaryOptions } from './config';
import { normWeights, torchLinear, unembedding } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig, Norm } from './types';

export function parseLlamaConfig(raw: RawConfig, family: string, rope: RotaryOptions = {}): ModelConfig {
  const nLayers = count(raw, ['num_hidden_layers'], LIMITS.layers);
  const dModel = count(raw, ['hidden_size'], LIMITS.width);
  const nHeads = count(raw, ['num_attention_heads'], LIMITS.heads);
  const headDim = headSize(raw, dModel, nHeads);
  const types = layerTypes(raw, nLayers, true);
  return modelConfig(raw, {
    family,
    nLayers,
    dModel,
    nHeads,
    nKvHeads: count(raw, ['num_key_value_heads'], LIMITS.heads, nHeads),
    headDim,
    dFf: count(raw, ['intermediate_size'], LIMITS.width * 16),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['max_position_embeddings'], LIMITS.context),
    norm: 'rms',
    normEps: num(raw, ['rms_norm_eps'], 1e-6),
    act: activation(raw.hidden_act ?? 'silu'),
    gated: true,
    attnWindow: attnWindows(raw, types),
    ...rotary(raw, headDim, nLayers, { types, ...rope }),
  });
}

/**
 * Where a Llama-layout block keeps its norms: before each branch (Llama), before and after
 * each branch (Gemma 2/3's sandwich), or only after each branch (OLMo 2).
 */
export type NormLayout = 'pre' | 'sandwich' | 'post';

function blockNorms(w: WeightStore, b: string, layout: NormLayout): Pick<BlockWeights, 'attnNorm' | 'mlpNorm' | 'attnPostNorm' | 'mlpPostNorm'> {
  const n = (name: string): Norm => normWeights(w, `${b}.${name}`);
  switch (layout) {
    case 'pre':
      return { attnNorm: n('input_layernorm'), mlpNorm: n('post_attention_layernorm') };
    case 'sandwich':
      return { attnNorm: n('input_layernorm'), attnPostNorm: n('post_attention_layernorm'), mlpNorm: n('pre_feedforward_layernorm'), mlpPostNorm: n('post_feedforward_layernorm') };
    case 'post':
      return { attnPostNorm: n('post_attention_layernorm'), mlpPostNorm: n('post_feedforward_layernorm') };
  }
}

/** A family's own projection names, for layouts that fuse or rename Llama's (Phi-3, StarCoder2). */
export interface LlamaLayout {
  norms?: NormLayout;
  /** q, k and v of the block with prefix b (default: q_proj, k_proj, v_proj). */
  qkv?: (b: string) => Pick<BlockWeights, 'q' | 'k' | 'v'>;
  /** The FFN's projections (default: gate_proj, up_proj, down_proj). */
  mlp?: (b: string) => Pick<BlockWeights, 'gate' | 'up' | 'down'>;
}

export function convertLlama(cfg: ModelConfig, raw: RawConfig, w: WeightStore, layout: LlamaLayout = {}): CanonicalModel {
  const embed = w.get('model.embed_tokens.weight');
  const qkv = layout.qkv ?? ((b) => ({ q: torchLinear(w, `${b}.self_attn.q_proj`), k: torchLinear(w, `${b}.self_attn.k_proj`), v: torchLinear(w, `${b}.self_attn.v_proj`) }));
  const mlp = layout.mlp ?? ((b) => ({ gate: torchLinear(w, `${b}.mlp.gate_proj`), up: torchLinear(w, `${b}.mlp.up_proj`), down: torchLinear(w, `${b}.mlp.down_proj`) }));
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `model.layers.${l}`;
    return {
      ...blockNorms(w, b, layout.norms ?? 'pre'),
      ...(cfg.qkNorm !== 'none' && { qNorm: normWeights(w, `${b}.self_attn.q_norm`), kNorm: normWeights(w, `${b}.self_attn.k_norm`) }),
      ...qkv(b),
      o: torchLinear(w, `${b}.self_attn.o_proj`),
      ...mlp(b),
    };
  });
  return {
    config: cfg,
    embed,
    blocks,
    finalNorm: normWeights(w, 'model.norm'),
    unembed: unembedding(w, bool(raw, 'tie_word_embeddings', false), embed),
  };
}

/** SmolLM3 leaves rotary out of some layers: no_rope_layers[l] is 1 where layer l uses it. */
function smolRope(raw: RawConfig, nLayers: number): RotaryOptions {
  let flags = raw.no_rope_layers;
  if (flags === undefined || flags === null) {
    const interval = num(raw, ['no_rope_layer_interval'], 4);
    flags = Array.from({ length: nLayers }, (_, l) => Number((l + 1) % interval !== 0));
  }
  if (!Array.isArray(flags) || flags.length < nLayers || !flags.every((v) => v === 0 || v === 1)) {
    throw new Error(`config.json: no_rope_layers must give 0 or 1 for each of the ${nLayers} layers (got ${preview(flags)})`);
  }
  const use = flags as number[];
  return { skip: (l) => use[l] === 0 };
}

/** What every Llama-layout reader reads. */
export const LLAMA_FIELDS = [
  'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'intermediate_size', 'max_position_embeddings',
  'rms_norm_eps', 'hidden_act', 'rope_parameters', 'rope_scaling', 'rope_theta', 'attention_bias', 'mlp_bias',
];
/** Qwen-style per-layer sliding windows. */
export const SLIDING_FIELDS = ['layer_types', 'sliding_window', 'use_sliding_window', 'max_window_layers'];

export const llama: ArchFamily = {
  name: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3', 'smollm3'],
  defaults: { mistral: { sliding_window: 4096 } },
  fields: {
    llama: LLAMA_FIELDS,
    mistral: [...LLAMA_FIELDS, 'sliding_window'],
    qwen2: [...LLAMA_FIELDS, ...SLIDING_FIELDS, 'use_mrope'],
    qwen3: [...LLAMA_FIELDS, ...SLIDING_FIELDS],
    smollm3: [...LLAMA_FIELDS, ...SLIDING_FIELDS, 'no_rope_layers', 'no_rope_layer_interval'],
  },
  parseConfig: (raw) => {
    const modelType = String(raw.model_type);
    refuseUnless(raw, 'use_mrope', isOff, 'multimodal rotary embeddings belong to Qwen2-VL');
    const rope = modelType === 'smollm3' ? smolRope(raw, num(raw, ['num_hidden_layers'])) : {};
    const cfg = parseLlamaConfig(raw, 'llama', rope);
    return modelType === 'qwen3' ? { ...cfg, qkNorm: 'head' } : cfg;
  },
  convert: (cfg, raw, w) => convertLlama(cfg, raw, w),
};
