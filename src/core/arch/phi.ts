/** Phi (1, 1.5, 2): one LayerNorm feeding attention and FFN in parallel, partial rotary, biased lm_head. */
import type { WeightStore } from '../load/weights';
import { activation, bool, count, headSize, LIMITS, modelConfig, num, rotary, type RawConfig } from './config';
import { normWeights, torchLinear, unembedding } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  if (bool(raw, 'qk_layernorm', false)) throw new Error('Phi with qk_layernorm=true is not supported');
  const dModel = count(raw, ['hidden_size'], LIMITS.width);
  const nHeads = count(raw, ['num_attention_heads'], LIMITS.heads);
  const nLayers = count(raw, ['num_hidden_layers'], LIMITS.layers);
  return modelConfig(raw, {
    family: 'phi',
    nLayers,
    dModel,
    nHeads,
    nKvHeads: count(raw, ['num_key_value_heads'], LIMITS.heads, nHeads),
    dFf: count(raw, ['intermediate_size'], LIMITS.width * 16),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['max_position_embeddings'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_eps'], 1e-5),
    act: activation(raw.hidden_act ?? 'gelu_new'),
    parallel: true,
    ...rotary(raw, headSize({}, dModel, nHeads), nLayers, { defaultFactor: 0.5 }),
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const embed = w.get('model.embed_tokens.weight');
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `model.layers.${l}`;
    return {
      attnNorm: normWeights(w, `${b}.input_layernorm`),
      q: torchLinear(w, `${b}.self_attn.q_proj`),
      k: torchLinear(w, `${b}.self_attn.k_proj`),
      v: torchLinear(w, `${b}.self_attn.v_proj`),
      o: torchLinear(w, `${b}.self_attn.dense`),
      up: torchLinear(w, `${b}.mlp.fc1`),
      down: torchLinear(w, `${b}.mlp.fc2`),
    };
  });
  return {
    config: cfg,
    embed,
    blocks,
    finalNorm: normWeights(w, 'model.final_layernorm'),
    unembed: unembedding(w, bool(raw, 'tie_word_embeddings', false), embed),
  };
}

export const phi: ArchFamily = {
  name: 'phi',
  modelTypes: ['phi'],
  fields: { phi: ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings', 'layer_norm_eps', 'hidden_act', 'partial_rotary_factor', 'rope_parameters', 'rope_scaling', 'rope_theta', 'qk_layernorm'] },
  parseConfig,
  convert,
};
