/**
 * GPT-NeoX (Pythia): LayerNorm, partial rotary, q/k/v fused per head, and by default a
 * parallel residual (attention and FFN both read the block input).
 */
import type { WeightStore } from '../load/weights';
import { sliceRows, concatRows, transpose2d, type HostTensor } from '../tensor';
import { activation, bool, count, headSize, LIMITS, modelConfig, num, rotary, type RawConfig } from './config';
import { normWeights, torchLinear, unembedding } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, Linear, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  const dModel = count(raw, ['hidden_size'], LIMITS.width);
  const nHeads = count(raw, ['num_attention_heads'], LIMITS.heads);
  const nLayers = count(raw, ['num_hidden_layers'], LIMITS.layers);
  return modelConfig(raw, {
    family: 'gpt_neox',
    nLayers,
    dModel,
    nHeads,
    dFf: count(raw, ['intermediate_size'], LIMITS.width * 16),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['max_position_embeddings'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_eps'], 1e-5),
    act: activation(raw.hidden_act ?? 'gelu'),
    parallel: bool(raw, 'use_parallel_residual', true),
    // transformers' GPT-NeoX rotates a quarter of each head unless told otherwise
    ...rotary(raw, headSize({}, dModel, nHeads), nLayers, { defaultFactor: 0.25 }),
  });
}

/** Splits the fused [heads × (q, k, v) × head_dim, d] projection into q, k and v. */
function splitQkv(fused: Linear, cfg: ModelConfig): [Linear, Linear, Linear] {
  // fused.weight is [in, out]; work on the torch orientation, where output rows are grouped per head
  const rows = transpose2d(fused.weight);
  const hd = cfg.headDim;
  return [0, 1, 2].map((which) => {
    const pick = (t: HostTensor) => concatRows(Array.from({ length: cfg.nHeads }, (_, h) => sliceRows(t, (3 * h + which) * hd, (3 * h + which + 1) * hd)));
    const bias = fused.bias && pick({ data: fused.bias.data, shape: [fused.bias.data.length, 1] });
    return { weight: transpose2d(pick(rows)), bias: bias && { data: bias.data, shape: [bias.data.length] } };
  }) as [Linear, Linear, Linear];
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const embed = w.get('gpt_neox.embed_in.weight');
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `gpt_neox.layers.${l}`;
    const [q, k, v] = splitQkv(torchLinear(w, `${b}.attention.query_key_value`), cfg);
    return {
      attnNorm: normWeights(w, `${b}.input_layernorm`),
      mlpNorm: normWeights(w, `${b}.post_attention_layernorm`),
      q,
      k,
      v,
      o: torchLinear(w, `${b}.attention.dense`),
      up: torchLinear(w, `${b}.mlp.dense_h_to_4h`),
      down: torchLinear(w, `${b}.mlp.dense_4h_to_h`),
    };
  });
  return {
    config: cfg,
    embed,
    blocks,
    finalNorm: normWeights(w, 'gpt_neox.final_layer_norm'),
    unembed: unembedding(w, bool(raw, 'tie_word_embeddings', false), embed, 'embed_out'),
  };
}

export const gptNeox: ArchFamily = {
  name: 'gpt_neox',
  modelTypes: ['gpt_neox'],
  fields: {
    gpt_neox: [
      'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'layer_norm_eps', 'hidden_act',
      'use_parallel_residual', 'rope_parameters', 'rope_scaling', 'rotary_pct', 'rotary_emb_base', 'rope_theta', 'partial_rotary_factor', 'attention_bias',
    ],
  },
  parseConfig,
  convert,
};
