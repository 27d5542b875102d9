/** OPT: learned positions offset by 2, pre-LayerNorm (do_layer_norm_before), ReLU FFN. */
import type { WeightStore } from '../load/weights';
import { activation, bool, count, isOff, refuseUnless, LIMITS, modelConfig, num, type RawConfig } from './config';
import { normWeights, torchLinear, unembedding } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  refuseUnless(raw, '_remove_final_layer_norm', isOff, 'OPT without its final norm');
  if (!bool(raw, 'do_layer_norm_before', true)) throw new Error('OPT with do_layer_norm_before=false (post-norm, e.g. opt-350m) is not supported');
  const dModel = count(raw, ['hidden_size'], LIMITS.width);
  if (num(raw, ['word_embed_proj_dim'], dModel) !== dModel) throw new Error('OPT with word_embed_proj_dim ≠ hidden_size (project_in/out) is not supported');
  return modelConfig(raw, {
    family: 'opt',
    nLayers: count(raw, ['num_hidden_layers'], LIMITS.layers),
    dModel,
    nHeads: count(raw, ['num_attention_heads'], LIMITS.heads),
    dFf: count(raw, ['ffn_dim'], LIMITS.width * 16),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['max_position_embeddings'], LIMITS.context),
    norm: 'layer',
    normEps: 1e-5,
    act: activation(raw.activation_function ?? 'relu'),
    positionOffset: 2,
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const p = w.has('model.decoder.embed_tokens.weight') ? 'model.decoder' : 'decoder';
  const embed = w.get(`${p}.embed_tokens.weight`);
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `${p}.layers.${l}`;
    return {
      attnNorm: normWeights(w, `${b}.self_attn_layer_norm`),
      mlpNorm: normWeights(w, `${b}.final_layer_norm`),
      q: torchLinear(w, `${b}.self_attn.q_proj`),
      k: torchLinear(w, `${b}.self_attn.k_proj`),
      v: torchLinear(w, `${b}.self_attn.v_proj`),
      o: torchLinear(w, `${b}.self_attn.out_proj`),
      up: torchLinear(w, `${b}.fc1`),
      down: torchLinear(w, `${b}.fc2`),
    };
  });
  return {
    config: cfg,
    embed,
    positionEmbed: w.get(`${p}.embed_positions.weight`),
    blocks,
    finalNorm: normWeights(w, `${p}.final_layer_norm`),
    unembed: unembedding(w, bool(raw, 'tie_word_embeddings', true), embed),
  };
}

export const opt: ArchFamily = {
  name: 'opt',
  modelTypes: ['opt'],
  fields: { opt: ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'ffn_dim', 'max_position_embeddings', 'activation_function', 'do_layer_norm_before', 'word_embed_proj_dim', 'enable_bias', 'layer_norm_elementwise_affine', '_remove_final_layer_norm'] },
  parseConfig,
  convert,
};
