/**
 * GPT-BigCode (SantaCoder, StarCoder 1): GPT-2's block with nn.Linear weights and
 * multi-query attention: c_attn packs every query head, then one key and one value head.
 */
import type { WeightStore } from '../load/weights';
import { activation, bool, count, isOff, headSize, LIMITS, modelConfig, num, refuseUnless, type RawConfig } from './config';
import {gpt2Layout, linearPart, normWeights, torchLinear } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  refuseUnless(raw, 'multi_query', (v) => v === true, 'only multi-query GPT-BigCode checkpoints are verified');
  refuseUnless(raw, 'num_key_value_heads', (v) => v === 1 || v === null, 'multi-query attention has one key/value head');
  refuseUnless(raw, 'add_cross_attention', isOff, 'cross-attention belongs to encoder-decoder models');
  const dModel = count(raw, ['n_embd'], LIMITS.width);
  const nHeads = count(raw, ['n_head'], LIMITS.heads);
  const headDim = headSize({}, dModel, nHeads);
  return modelConfig(raw, {
    family: 'gpt_bigcode',
    nLayers: count(raw, ['n_layer'], LIMITS.layers),
    dModel,
    nHeads,
    nKvHeads: 1,
    dFf: count(raw, ['n_inner'], LIMITS.width * 16, 4 * dModel),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['n_positions'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_epsilon'], 1e-5),
    act: activation(raw.activation_function ?? 'gelu_pytorch_tanh'),
    attnScale: Array(count(raw, ['n_layer'], LIMITS.layers)).fill(bool(raw, 'scale_attn_weights', true) ? 1 / Math.sqrt(headDim) : 1),
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const d = cfg.dModel;
  const hd = cfg.headDim;
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `transformer.h.${l}`;
    const qkv = torchLinear(w, `${b}.attn.c_attn`);
    return {
      attnNorm: normWeights(w, `${b}.ln_1`),
      mlpNorm: normWeights(w, `${b}.ln_2`),
      q: linearPart(qkv, 0, d),
      k: linearPart(qkv, d, d + hd),
      v: linearPart(qkv, d + hd, d + 2 * hd),
      o: torchLinear(w, `${b}.attn.c_proj`),
      up: torchLinear(w, `${b}.mlp.c_fc`),
      down: torchLinear(w, `${b}.mlp.c_proj`),
    };
  });
  return gpt2Layout(w, cfg, blocks, { prefix: 'transformer.', tied: bool(raw, 'tie_word_embeddings', true) });
}

export const gptBigcode: ArchFamily = {
  name: 'gpt_bigcode',
  modelTypes: ['gpt_bigcode'],
  fields: { gpt_bigcode: ['n_embd', 'n_head', 'n_layer', 'n_inner', 'n_positions', 'layer_norm_epsilon', 'activation_function', 'scale_attn_weights', 'multi_query', 'num_key_value_heads', 'add_cross_attention'] },
  parseConfig,
  convert,
};
