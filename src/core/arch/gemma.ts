/**
 * Gemma 1, 2 and 3 (text): Llama's layout with embeddings scaled by sqrt(d_model), RMSNorm
 * gains stored as (gain − 1) and a GELU-tanh gate. Gemma 2 and 3 add sandwich norms
 * (before and after each branch), query_pre_attn_scalar and sliding-window layers; Gemma 2
 * soft-caps attention scores and logits; Gemma 3 normalises q and k per head and keeps
 * rope parameters per layer type.
 */
import type { Norm } from './types';
import { convertLlama, LLAMA_FIELDS, parseLlamaConfig } from './llama';
import { activation, isOff, num, refuseUnless, type RawConfig } from './config';
import type { ArchFamily, ModelConfig } from './types';

const GEMMA2_FIELDS = ['hidden_activation', 'use_bidirectional_attention', 'query_pre_attn_scalar', 'attn_logit_softcapping', 'final_logit_softcapping', 'layer_types', 'sliding_window'];

const plusOne = (n: Norm | undefined): Norm | undefined => n && { weight: { data: n.weight.data.map((v) => v + 1), shape: n.weight.shape } };

/** A soft-capping value: 0 (off) when the config says null. */
const cap = (raw: RawConfig, key: string): number => (raw[key] === null || raw[key] === undefined ? 0 : num(raw, [key]));

/**
 * Gemma 2/3 configs as older transformers wrote them (and as many hub checkpoints still
 * are): no layer_types but a sliding-window pattern (every n-th layer global), and Gemma 3's
 * local rope base in rope_local_base_freq. Rewritten into the transformers 5 form.
 */
function modernised(raw: RawConfig): RawConfig {
  if (raw.model_type === 'gemma') return raw;
  const out = { ...raw };
  if (out.layer_types === undefined || out.layer_types === null) {
    const every = raw.model_type === 'gemma2' ? 2 : num(raw, ['_sliding_window_pattern', 'sliding_window_pattern'], 6);
    out.layer_types = Array.from({ length: num(raw, ['num_hidden_layers']) }, (_, l) => ((l + 1) % every ? 'sliding_attention' : 'full_attention'));
  }
  if (raw.rope_local_base_freq !== undefined && (raw.rope_parameters === undefined || raw.rope_parameters === null)) {
    const global = { rope_type: 'default', ...((raw.rope_scaling as RawConfig | null) ?? {}), rope_theta: raw.rope_theta ?? 10000 };
    out.rope_parameters = { full_attention: global, sliding_attention: { rope_type: 'default', rope_theta: raw.rope_local_base_freq } };
    delete out.rope_scaling;
    delete out.rope_theta;
  }
  return out;
}

function parseConfig(original: RawConfig): ModelConfig {
  const raw = modernised(original);
  refuseUnless(raw, 'use_bidirectional_attention', isOff, 'bidirectional attention is for embedding models');
  const cfg = parseLlamaConfig(raw, 'gemma');
  const later = raw.model_type !== 'gemma';
  const base: ModelConfig = {
    ...cfg,
    act: activation(raw.hidden_activation ?? raw.hidden_act ?? 'gelu_pytorch_tanh'),
    // transformers computes the normaliser in the activation dtype; fp32 here
    embedScale: Math.fround(Math.sqrt(cfg.dModel)),
  };
  if (!later) return base;
  const scalar = num(raw, ['query_pre_attn_scalar']);
  if (!(scalar > 0)) throw new Error(`config.json: query_pre_attn_scalar must be positive (got ${scalar})`);
  return {
    ...base,
    attnScale: cfg.attnScale.map(() => scalar ** -0.5),
    attnSoftcap: cap(raw, 'attn_logit_softcapping'),
    finalSoftcap: cap(raw, 'final_logit_softcapping'),
    qkNorm: raw.model_type === 'gemma3_text' ? 'head' : 'none',
  };
}

export const gemma: ArchFamily = {
  name: 'gemma',
  modelTypes: ['gemma', 'gemma2', 'gemma3_text'],
  defaults: {
    gemma2: { attn_logit_softcapping: 50, final_logit_softcapping: 30, query_pre_attn_scalar: 256, sliding_window: 4096 },
    gemma3_text: { query_pre_attn_scalar: 256, sliding_window: 4096 },
  },
  fields: {
    gemma: [...LLAMA_FIELDS, 'hidden_activation', 'use_bidirectional_attention'],
    // sliding_window_size: an older duplicate of sliding_window that transformers does not read
    gemma2: [...LLAMA_FIELDS, ...GEMMA2_FIELDS, 'sliding_window_size'],
    gemma3_text: [...LLAMA_FIELDS, ...GEMMA2_FIELDS, '_sliding_window_pattern', 'sliding_window_pattern', 'rope_local_base_freq'],
  },
  parseConfig,
  convert: (cfg, raw, w) => {
    const m = convertLlama(cfg, { ...raw, tie_word_embeddings: raw.tie_word_embeddings ?? true }, w, { norms: cfg.modelType === 'gemma' ? 'pre' : 'sandwich' });
    return {
      ...m,
      finalNorm: plusOne(m.finalNorm)!,
      blocks: m.blocks.map((b) => ({
        ...b,
        attnNorm: plusOne(b.attnNorm),
        mlpNorm: plusOne(b.mlpNorm),
        attnPostNorm: plusOne(b.attnPostNorm),
        mlpPostNorm: plusOne(b.mlpPostNorm),
        qNorm: plusOne(b.qNorm),
        kNorm: plusOne(b.kNorm),
      })),
    };
  },
};
