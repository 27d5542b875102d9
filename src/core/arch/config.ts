/**
 * Reading Hugging Face config.json values the way transformers 5.x writes them, with
 * errors that name the missing key instead of NaNs deep in the graph.
 */
import type { Activation, ModelConfig } from './types';

export type RawConfig = Record<string, unknown>;

/** The first of `keys` present in `raw` as a number; `fallback` when none is. */
export function num(raw: RawConfig, keys: string[], fallback?: number): number {
  for (const k of keys) {
    const v = raw[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: missing number "${keys[0]}"${keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : ''}`);
}

export function bool(raw: RawConfig, key: string, fallback: boolean): boolean {
  const v = raw[key];
  return typeof v === 'boolean' ? v : fallback;
}

export function optionalId(raw: RawConfig, key: string): number | undefined {
  const v = raw[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

/** rope_parameters (transformers ≥ 4.5x) or the older flat rope_theta / rope_scaling. */
export function ropeParameters(raw: RawConfig): { theta: number; partialFactor?: number } {
  const params = (raw.rope_parameters ?? raw.rope_scaling ?? {}) as RawConfig;
  const type = (params.rope_type ?? params.type ?? 'default') as string;
  if (type !== 'default') throw new Error(`config.json: rope type "${type}" is not supported yet (only "default")`);
  const partial = params.partial_rotary_factor ?? raw.partial_rotary_factor ?? raw.rotary_pct;
  return {
    theta: num(params, ['rope_theta'], num(raw, ['rope_theta', 'rotary_emb_base'], 10000)),
    partialFactor: typeof partial === 'number' ? partial : undefined,
  };
}

const ACTIVATIONS: Record<string, Activation> = {
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

export function activation(name: unknown): Activation {
  const act = ACTIVATIONS[String(name)];
  if (!act) throw new Error(`config.json: activation "${String(name)}" is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return act;
}

/** What every family must say; the rest of ModelConfig has common defaults. */
export type ConfigCore = Pick<ModelConfig, 'family' | 'nLayers' | 'dModel' | 'nHeads' | 'dFf' | 'vocabSize' | 'contextSize' | 'norm' | 'normEps' | 'act'> & Partial<ModelConfig>;

/**
 * A full ModelConfig from a family's essentials: full multi-head attention scaled by
 * 1/sqrt(head_dim), a sequential ungated block, learned positions, unscaled embeddings,
 * unless the family says otherwise.
 */
export function modelConfig(raw: RawConfig, c: ConfigCore): ModelConfig {
  const headDim = c.headDim ?? c.dModel / c.nHeads;
  return {
    modelType: String(raw.model_type),
    nKvHeads: c.nHeads,
    headDim,
    gated: false,
    parallel: false,
    positions: 'learned',
    positionOffset: 0,
    rotaryDim: 0,
    ropeTheta: 0,
    embedScale: 1,
    attnScale: Array(c.nLayers).fill(1 / Math.sqrt(headDim)),
    bosId: optionalId(raw, 'bos_token_id'),
    eosId: optionalId(raw, 'eos_token_id'),
    ...c,
  };
}

/** Rotary position settings for a head size, from rope_parameters or the older keys. */
export function rotary(raw: RawConfig, headDim: number, defaultFactor = 1): Pick<ModelConfig, 'positions' | 'rotaryDim' | 'ropeTheta'> {
  const rope = ropeParameters(raw);
  return { positions: 'rotary', rotaryDim: Math.trunc(headDim * (rope.partialFactor ?? defaultFactor)), ropeTheta: rope.theta };
}
