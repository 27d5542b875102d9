/** GPT-2: learned positions, pre-LayerNorm, fused Conv1D q/k/v, GELU FFN. */
import type { WeightStore } from '../load/weights';
import { activation, bool, count, isOff, refuseUnless, headSize, LIMITS, modelConfig, num, type RawConfig } from './config';
import {conv1d, gpt2Layout, normWeights, sliceCols, sliceVec } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, Linear, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  refuseUnless(raw, 'add_cross_attention', isOff, 'cross-attention belongs to encoder-decoder models');
  const dModel = count(raw, ['n_embd', 'hidden_size'], LIMITS.width);
  const nHeads = count(raw, ['n_head', 'num_attention_heads'], LIMITS.heads);
  const nLayers = count(raw, ['n_layer', 'num_hidden_layers'], LIMITS.layers);
  const base = bool(raw, 'scale_attn_weights', true) ? 1 / Math.sqrt(headSize({}, dModel, nHeads)) : 1;
  const byLayer = bool(raw, 'scale_attn_by_inverse_layer_idx', false);
  return modelConfig(raw, {
    family: 'gpt2',
    nLayers,
    dModel,
    nHeads,
    dFf: count(raw, ['n_inner'], LIMITS.width * 16, 4 * dModel),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['n_positions', 'n_ctx', 'max_position_embeddings'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_epsilon'], 1e-5),
    act: activation(raw.activation_function ?? 'gelu_new'),
    attnScale: Array.from({ length: nLayers }, (_, l) => (byLayer ? base / (l + 1) : base)),
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  // GPT2LMHeadModel prefixes "transformer."; a bare GPT2Model does not.
  const p = w.has('transformer.wte.weight') ? 'transformer.' : '';
  const d = cfg.dModel;
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `${p}h.${l}`;
    const qkv = conv1d(w, `${b}.attn.c_attn`);
    const part = (i: number): Linear => ({
      weight: sliceCols(qkv.weight, i * d, (i + 1) * d),
      bias: qkv.bias && sliceVec(qkv.bias, i * d, (i + 1) * d),
    });
    return {
      attnNorm: normWeights(w, `${b}.ln_1`),
      mlpNorm: normWeights(w, `${b}.ln_2`),
      q: part(0),
      k: part(1),
      v: part(2),
      o: conv1d(w, `${b}.attn.c_proj`),
      up: conv1d(w, `${b}.mlp.c_fc`),
      down: conv1d(w, `${b}.mlp.c_proj`),
    };
  });
  return gpt2Layout(w, cfg, blocks, { prefix: p, tied: bool(raw, 'tie_word_embeddings', true) });
}

export const gpt2: ArchFamily = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  fields: { gpt2: ['n_embd', 'n_head', 'n_layer', 'n_inner', 'n_positions', 'n_ctx', 'layer_norm_epsilon', 'activation_function', 'scale_attn_weights', 'scale_attn_by_inverse_layer_idx', 'add_cross_attention'] },
  parseConfig,
  convert,
};
