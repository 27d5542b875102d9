/**
 * Gemma (v1): Llama's layout with three differences: embeddings scaled by
 * sqrt(d_model), RMSNorm gains stored as (gain − 1), and a GELU-tanh gate.
 */
import type { Norm } from './types';
import { convertLlama, parseLlamaConfig } from './llama';
import { activation } from './config';
import type { ArchFamily } from './types';

const plusOne = (n: Norm): Norm => ({ weight: { data: n.weight.data.map((v) => v + 1), shape: n.weight.shape } });

export const gemma: ArchFamily = {
  name: 'gemma',
  modelTypes: ['gemma'],
  parseConfig: (raw) => ({
    ...parseLlamaConfig(raw, 'gemma'),
    act: activation(raw.hidden_activation ?? raw.hidden_act ?? 'gelu_pytorch_tanh'),
    // HF computes the normaliser in the activation dtype; fp32 here.
    embedScale: Math.fround(Math.sqrt(Number(raw.hidden_size))),
  }),
  convert: (cfg, raw, w) => {
    const m = convertLlama(cfg, { ...raw, tie_word_embeddings: raw.tie_word_embeddings ?? true }, w);
    return {
      ...m,
      finalNorm: plusOne(m.finalNorm),
      blocks: m.blocks.map((b) => ({ ...b, attnNorm: plusOne(b.attnNorm), mlpNorm: plusOne(b.mlpNorm!) })),
    };
  },
};
