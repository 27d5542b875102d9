/**
 * StarCoder2: Llama's attention (with biases) and sliding window, LayerNorm with biases,
 * and an ungated GELU FFN named c_fc / c_proj.
 */
import { activation, num, refuseUnless } from './config';
import { torchLinear } from './convert';
import { convertLlama, parseLlamaConfig } from './llama';
import type { ArchFamily } from './types';

export const starcoder2: ArchFamily = {
  name: 'starcoder2',
  modelTypes: ['starcoder2'],
  fields: {
    starcoder2: [
      'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings',
      'norm_epsilon', 'hidden_act', 'rope_parameters', 'rope_scaling', 'rope_theta', 'sliding_window', 'use_bias', 'norm_type', 'mlp_type',
    ],
  },
  parseConfig: (raw) => {
    // early StarCoder2 configs name their norm and MLP; transformers builds these whatever they say
    refuseUnless(raw, 'norm_type', (v) => v === 'layer_norm', 'StarCoder2 uses LayerNorm');
    refuseUnless(raw, 'mlp_type', (v) => v === 'default', 'StarCoder2 uses the plain c_fc / c_proj MLP');
    return {
    ...parseLlamaConfig(raw, 'starcoder2'),
    norm: 'layer',
    normEps: num(raw, ['norm_epsilon'], 1e-5),
    act: activation(raw.hidden_act ?? 'gelu_pytorch_tanh'),
    gated: false,
    };
  },
  convert: (cfg, raw, w) => convertLlama(cfg, raw, w, { mlp: (b) => ({ up: torchLinear(w, `${b}.mlp.c_fc`), down: torchLinear(w, `${b}.mlp.c_proj`) }) }),
};
