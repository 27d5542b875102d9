/**
 * GPT-Neo: GPT-2's block with nn.Linear weights, unscaled attention scores and layers
 * alternating between global attention and local attention over `window_size` tokens.
 */
import type { WeightStore } from '../load/weights';
import { activation, attnWindows, bool, count, LIMITS, modelConfig, num, type LayerType, type RawConfig } from './config';
import {gpt2Layout, normWeights, torchLinear } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

/** attention_layers, or attention_types ([[["global", "local"], repeats]]) expanded as transformers does. */
function layerKinds(raw: RawConfig, nLayers: number): LayerType[] {
  let kinds = raw.attention_layers;
  if (!Array.isArray(kinds) && Array.isArray(raw.attention_types)) {
    kinds = (raw.attention_types as [string[], number][]).flatMap((entry) => (Array.isArray(entry) && Array.isArray(entry[0]) && Number.isSafeInteger(entry[1]) && entry[1] > 0 && entry[1] <= LIMITS.layers ? Array(entry[1]).fill(entry[0]).flat() : [null]));
  }
  if (!Array.isArray(kinds) || kinds.length !== nLayers || !kinds.every((k) => k === 'global' || k === 'local')) {
    throw new Error(`config.json: attention_layers / attention_types must give "global" or "local" for each of the ${nLayers} layers`);
  }
  return kinds.map((k) => (k === 'local' ? 'sliding_attention' : 'full_attention'));
}

function parseConfig(raw: RawConfig): ModelConfig {
  const nLayers = count(raw, ['num_layers'], LIMITS.layers);
  const dModel = count(raw, ['hidden_size'], LIMITS.width);
  return modelConfig(raw, {
    family: 'gpt_neo',
    nLayers,
    dModel,
    nHeads: count(raw, ['num_heads'], LIMITS.heads),
    dFf: count(raw, ['intermediate_size'], LIMITS.width * 16, 4 * dModel),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['max_position_embeddings'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_epsilon'], 1e-5),
    act: activation(raw.activation_function ?? 'gelu_new'),
    // GPT-Neo does not scale its attention scores
    attnScale: Array(nLayers).fill(1),
    attnWindow: attnWindows(raw, layerKinds(raw, nLayers), 'window_size'),
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `transformer.h.${l}`;
    return {
      attnNorm: normWeights(w, `${b}.ln_1`),
      mlpNorm: normWeights(w, `${b}.ln_2`),
      q: torchLinear(w, `${b}.attn.attention.q_proj`),
      k: torchLinear(w, `${b}.attn.attention.k_proj`),
      v: torchLinear(w, `${b}.attn.attention.v_proj`),
      o: torchLinear(w, `${b}.attn.attention.out_proj`),
      up: torchLinear(w, `${b}.mlp.c_fc`),
      down: torchLinear(w, `${b}.mlp.c_proj`),
    };
  });
  return gpt2Layout(w, cfg, blocks, { prefix: 'transformer.', tied: bool(raw, 'tie_word_embeddings', true) });
}

export const gptNeo: ArchFamily = {
  name: 'gpt_neo',
  modelTypes: ['gpt_neo'],
  defaults: { gpt_neo: { window_size: 256 } },
  fields: { gpt_neo: ['hidden_size', 'num_layers', 'num_heads', 'intermediate_size', 'max_position_embeddings', 'layer_norm_epsilon', 'activation_function', 'attention_types', 'attention_layers', 'window_size'] },
  parseConfig,
  convert,
};
