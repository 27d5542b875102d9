/**
 * Llama and its close relatives (Mistral, Qwen2): RMSNorm, rotary attention with
 * grouped KV heads, gated SiLU FFN. Qwen2's q/k/v biases are picked up when present.
 */
import type { WeightStore } from '../load/weights';
import { activation, bool, modelConfig, num, rotary, type RawConfig } from './config';
import { normWeights, torchLinear, unembedding } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

export function parseLlamaConfig(raw: RawConfig, family: string): ModelConfig {
  const dModel = num(raw, ['hidden_size']);
  const nHeads = num(raw, ['num_attention_heads']);
  const headDim = num(raw, ['head_dim'], dModel / nHeads);
  return modelConfig(raw, {
    family,
    nLayers: num(raw, ['num_hidden_layers']),
    dModel,
    nHeads,
    nKvHeads: num(raw, ['num_key_value_heads'], nHeads),
    headDim,
    dFf: num(raw, ['intermediate_size']),
    vocabSize: num(raw, ['vocab_size']),
    contextSize: num(raw, ['max_position_embeddings']),
    norm: 'rms',
    normEps: num(raw, ['rms_norm_eps'], 1e-6),
    act: activation(raw.hidden_act ?? 'silu'),
    gated: true,
    ...rotary(raw, headDim),
  });
}

export function convertLlama(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const embed = w.get('model.embed_tokens.weight');
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `model.layers.${l}`;
    return {
      attnNorm: normWeights(w, `${b}.input_layernorm`),
      mlpNorm: normWeights(w, `${b}.post_attention_layernorm`),
      q: torchLinear(w, `${b}.self_attn.q_proj`),
      k: torchLinear(w, `${b}.self_attn.k_proj`),
      v: torchLinear(w, `${b}.self_attn.v_proj`),
      o: torchLinear(w, `${b}.self_attn.o_proj`),
      gate: torchLinear(w, `${b}.mlp.gate_proj`),
      up: torchLinear(w, `${b}.mlp.up_proj`),
      down: torchLinear(w, `${b}.mlp.down_proj`),
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

export const llama: ArchFamily = {
  name: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2'],
  parseConfig: (raw) => parseLlamaConfig(raw, 'llama'),
  convert: convertLlama,
};
