/**
 * OLMo 2: Llama's layout with the norms moved after each branch (on the attention and FFN
 * outputs, before the residual add) and RMS norms over the whole q and k projections.
 */
import { convertLlama, LLAMA_FIELDS, parseLlamaConfig } from './llama';
import type { ArchFamily } from './types';

export const olmo2: ArchFamily = {
  name: 'olmo2',
  modelTypes: ['olmo2'],
  defaults: { olmo2: { rms_norm_eps: 1e-5 } },
  fields: { olmo2: LLAMA_FIELDS },
  parseConfig: (raw) => ({ ...parseLlamaConfig(raw, 'olmo2'), qkNorm: 'projection' }),
  convert: (cfg, raw, w) => convertLlama(cfg, raw, w, { norms: 'post' }),
};
