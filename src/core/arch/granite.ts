/**
 * Granite: Llama's layout with four multipliers: embedding_multiplier on the embeddings,
 * attention_multiplier as the softmax scale, residual_multiplier on each branch's output
 * and logits divided by logits_scaling.
 */
import { num, type RawConfig } from './config';
import { convertLlama, LLAMA_FIELDS, parseLlamaConfig } from './llama';
import type { ArchFamily, ModelConfig } from './types';

function positive(raw: RawConfig, key: string): number {
  const v = num(raw, [key], 1);
  if (!(v > 0)) throw new Error(`config.json: ${key} must be positive (got ${v})`);
  return v;
}

function parseConfig(raw: RawConfig): ModelConfig {
  const cfg = parseLlamaConfig(raw, 'granite');
  return {
    ...cfg,
    embedScale: positive(raw, 'embedding_multiplier'),
    attnScale: cfg.attnScale.map(() => positive(raw, 'attention_multiplier')),
    residualScale: positive(raw, 'residual_multiplier'),
    logitDivisor: positive(raw, 'logits_scaling'),
  };
}

export const granite: ArchFamily = {
  name: 'granite',
  modelTypes: ['granite'],
  fields: { granite: [...LLAMA_FIELDS, 'embedding_multiplier', 'attention_multiplier', 'residual_multiplier', 'logits_scaling'] },
  parseConfig, convert: (cfg, raw, w) => convertLlama(cfg, raw, w) };
