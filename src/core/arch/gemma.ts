/**
 * Gemma 1, 2 and 3 (text): Llama's layout with embeddings scaled by sqrt(d_model), RMSNorm
 * gains stored as (gain − 1) and a GELU-tanh gate. Gemma 2 and 3 add sandwich norms
 * (before and after each branch), query_pre_attn_scalar and sliding-window layers; Gemma 2
 * soft-caps attention scores and logits; Gemma 3 normalises q and k per head and keeps
 * rope parameters per layer type.
 */
import type { Norm } from './types';
import { convertLlama, parseLlamaConfig } from './llama';
import { activation, num, type RawConfig } from './config';
import type { ArchFamily, ModelConfig } from './types';

const plusOne = (n: Norm | undefined): Norm | undefined => n && { weight: { data: n.weight.data.map((v) => v + 1), shape: n.weight.shape } };

/** A soft-capping value: 0 (off) when the config says null. */
const cap = (raw: RawConfig, key: string): number => (raw[key] === null || raw[key] === undefined ? 0 : num(raw, [key]));

function parseConfig(raw: RawConfig): ModelConfig {
  const cfg = parseLlamaConfig(raw, 'gemma');
  const later = raw.model_type !== 'gemma';
  const base: ModelConfig = {
    ...cfg,
    act: activation(raw.hidden_activation ?? raw.hidden_act ?? 'gelu_pytorch_tanh'),
    // transformers computes the normaliser in the activation dtype; fp32 here
    embedScale: Math.fround(Math.sqrt(cfg.dModel)),
  };
  if (!later) return base;
  const scalar = num(raw, ['query_pre_attn_scalar'], cfg.headDim);
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
