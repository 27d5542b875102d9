/**
 * GPT-J: one LayerNorm feeding attention and FFN in parallel, interleaved rotary
 * embeddings (pairs of adjacent channels) over the first `rotary_dim` channels of each head.
 */
import type { WeightStore } from '../load/weights';
import { activation, bool, count, headSize, LIMITS, modelConfig, num, rotary, type RawConfig } from './config';
import {gpt2Layout, normWeights, torchLinear } from './convert';
import type { ArchFamily, BlockWeights, CanonicalModel, ModelConfig } from './types';

function parseConfig(raw: RawConfig): ModelConfig {
  const nLayers = count(raw, ['n_layer'], LIMITS.layers);
  const dModel = count(raw, ['n_embd'], LIMITS.width);
  const nHeads = count(raw, ['n_head'], LIMITS.heads);
  const headDim = headSize({}, dModel, nHeads);
  const rotaryDim = raw.rotary_dim === null || raw.rotary_dim === undefined ? headDim : count(raw, ['rotary_dim'], headDim);
  return modelConfig(raw, {
    family: 'gptj',
    nLayers,
    dModel,
    nHeads,
    dFf: count(raw, ['n_inner'], LIMITS.width * 16, 4 * dModel),
    vocabSize: count(raw, ['vocab_size'], LIMITS.vocab),
    contextSize: count(raw, ['n_positions'], LIMITS.context),
    norm: 'layer',
    normEps: num(raw, ['layer_norm_epsilon'], 1e-5),
    act: activation(raw.activation_function ?? 'gelu_new'),
    parallel: true,
    // GPT-J's own sinusoidal table: base 10000, no rope_parameters
    ...rotary({ ...raw, rope_parameters: { rope_type: 'default', rope_theta: 10000 } }, headDim, nLayers, { dim: rotaryDim, interleaved: true }),
  });
}

function convert(cfg: ModelConfig, raw: RawConfig, w: WeightStore): CanonicalModel {
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): BlockWeights => {
    const b = `transformer.h.${l}`;
    return {
      attnNorm: normWeights(w, `${b}.ln_1`),
      q: torchLinear(w, `${b}.attn.q_proj`),
      k: torchLinear(w, `${b}.attn.k_proj`),
      v: torchLinear(w, `${b}.attn.v_proj`),
      o: torchLinear(w, `${b}.attn.out_proj`),
      up: torchLinear(w, `${b}.mlp.fc_in`),
      down: torchLinear(w, `${b}.mlp.fc_out`),
    };
  });
  return gpt2Layout(w, cfg, blocks, { prefix: 'transformer.', tied: bool(raw, 'tie_word_embeddings', false) });
}

export const gptj: ArchFamily = {
  name: 'gptj',
  modelTypes: ['gptj'],
  defaults: { gptj: { rotary_dim: 64 } },
  fields: { gptj: ['n_embd', 'n_head', 'n_layer', 'n_inner', 'n_positions', 'layer_norm_epsilon', 'activation_function', 'rotary_dim'] },
  parseConfig,
  convert,
};
