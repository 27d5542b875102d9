/**
 * Reading Hugging Face config.json values the way transformers 5.x writes them, with
 * errors that name the missing key instead of NaNs deep in the graph.
 */
import { preview, type RawConfig } from './raw';
import { ropeSpec } from './rope';
import type { Activation, ModelConfig, RopeSpec } from './types';

export { preview, type RawConfig };

/** The first of `keys` present in `raw`, which must be a number; `fallback` when none is present. */
export function num(raw: RawConfig, keys: string[], fallback?: number): number {
  const key = keys.find((k) => raw[k] !== undefined && raw[k] !== null);
  if (key === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`config.json: missing number "${keys[0]}"${keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : ''}`);
  }
  // the value given is checked, never replaced by the fallback
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`config.json: "${key}" must be a number (got ${preview(v)})`);
  return v;
}

/**
 * Upper bounds on sizes, far above any released checkpoint: a config past them is
 * corrupt or hostile, and would otherwise exhaust memory before any tensor is read.
 */
export const LIMITS = {
  layers: 1024,
  width: 1 << 17,
  heads: 4096,
  /** Token ids travel as floats in some hooks, exact below 2^24. */
  vocab: 1 << 24,
  context: 1 << 21,
};

/** The first of `keys` present as a whole number in 1..max; a clear error otherwise. */
export function count(raw: RawConfig, keys: string[], max: number, fallback?: number): number {
  const v = num(raw, keys, fallback);
  const key = keys.find((k) => raw[k] !== undefined && raw[k] !== null);
  if (key === undefined) return v;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new Error(`config.json: "${key}" must be a whole number from 1 to ${max} (got ${preview(v)})`);
  return v;
}

/** head_dim where the config gives it; else the width split evenly over the heads. */
export function headSize(raw: RawConfig, dModel: number, nHeads: number): number {
  if (raw.head_dim !== undefined && raw.head_dim !== null) return count(raw, ['head_dim'], LIMITS.width);
  if (dModel % nHeads !== 0) throw new Error(`config.json: ${nHeads} attention heads do not divide the width ${dModel}`);
  return dModel / nHeads;
}

export function bool(raw: RawConfig, key: string, fallback: boolean): boolean {
  const v = raw[key];
  return typeof v === 'boolean' ? v : fallback;
}

/** Refuses a field whose value asks for something not implemented (e.g. qk_layernorm: true). */
export function refuseUnless(raw: RawConfig, key: string, ok: (v: unknown) => boolean, why: string): void {
  if (key in raw && !ok(raw[key])) throw new Error(`config.json: ${key} = ${preview(raw[key])} is not supported (${why})`);
}

export const isOff = (v: unknown): boolean => v === null || v === false || v === 0;

export function optionalId(raw: RawConfig, key: string): number | undefined {
  const v = raw[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
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
 * A full ModelConfig from a family's essentials: full causal multi-head attention scaled
 * by 1/sqrt(head_dim), a sequential ungated block, learned positions, unscaled
 * embeddings and logits, unless the family says otherwise. Checks that the sizes fit
 * together (heads divide the width where no head_dim is given).
 */
export function modelConfig(raw: RawConfig, c: ConfigCore): ModelConfig {
  if (c.headDim === undefined && c.dModel % c.nHeads !== 0) throw new Error(`config.json: ${c.nHeads} attention heads do not divide the width ${c.dModel}`);
  const headDim = c.headDim ?? c.dModel / c.nHeads;
  const nKvHeads = c.nKvHeads ?? c.nHeads;
  if (c.nHeads % nKvHeads !== 0) throw new Error(`config.json: ${nKvHeads} key/value heads do not divide ${c.nHeads} attention heads`);
  if (!(c.normEps > 0 && c.normEps < 1)) throw new Error(`config.json: the norm epsilon must be in (0, 1) (got ${c.normEps})`);
  return {
    modelType: String(raw.model_type),
    nKvHeads,
    headDim,
    gated: false,
    parallel: false,
    positions: 'learned',
    positionOffset: 0,
    rope: [],
    embedScale: 1,
    attnScale: Array(c.nLayers).fill(1 / Math.sqrt(headDim)),
    attnWindow: Array(c.nLayers).fill(0),
    attnSoftcap: 0,
    finalSoftcap: 0,
    logitDivisor: 1,
    residualScale: 1,
    qkNorm: 'none',
    bosId: optionalId(raw, 'bos_token_id'),
    eosId: optionalId(raw, 'eos_token_id'),
    ...c,
    contextSize: readableContext(c),
  };
}

/**
 * The longest input the model reads: max_position_embeddings, except that dynamic NTK rope
 * exists to read past it (transformers sets no limit); we allow the factor's stretch of it,
 * factor × max_position_embeddings, the extension the factor is chosen for.
 */
function readableContext(c: ConfigCore): number {
  const stretch = Math.max(1, ...(c.rope ?? []).map((r) => r?.dynamic?.factor ?? 1));
  return Math.min(LIMITS.context, Math.floor(c.contextSize * stretch));
}

/** A layer's attention kind, from layer_types (transformers 5) or GPT-Neo's attention_layers. */
export type LayerType = 'full_attention' | 'sliding_attention';

/**
 * Each layer's attention kind. transformers 5 writes `layer_types`; older Qwen configs say
 * `use_sliding_window` with `max_window_layers` (layers from that index on slide); Mistral-style
 * configs with a `sliding_window` and neither slide in every layer.
 */
export function layerTypes(raw: RawConfig, nLayers: number, slideByDefault: boolean): LayerType[] {
  const listed = raw.layer_types;
  if (listed !== undefined && listed !== null) {
    if (!Array.isArray(listed) || listed.length < nLayers || !listed.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw new Error(`config.json: layer_types must list "full_attention" or "sliding_attention" for each of the ${nLayers} layers (got ${preview(listed)})`);
    }
    return listed.slice(0, nLayers) as LayerType[];
  }
  if ('use_sliding_window' in raw) {
    const from = bool(raw, 'use_sliding_window', false) ? num(raw, ['max_window_layers'], 0) : nLayers;
    return Array.from({ length: nLayers }, (_, l) => (l >= from ? 'sliding_attention' : 'full_attention'));
  }
  return Array(nLayers).fill(slideByDefault && !isOff(raw.sliding_window ?? null) ? 'sliding_attention' : 'full_attention');
}

/** Attention windows per layer (0 = full) from layer types and the window size under `key`. */
export function attnWindows(raw: RawConfig, types: LayerType[], key = 'sliding_window'): number[] {
  if (!types.includes('sliding_attention')) return types.map(() => 0);
  const window = count(raw, [key], LIMITS.context);
  return types.map((t) => (t === 'sliding_attention' ? window : 0));
}

export interface RotaryOptions {
  /** Head channels rotated when the config gives no partial_rotary_factor. */
  defaultFactor?: number;
  /** An explicit rotated width (GPT-J's rotary_dim). */
  dim?: number;
  interleaved?: boolean;
  /** Layers without rotary embeddings. */
  skip?: (layer: number) => boolean;
  types?: LayerType[];
}

/**
 * The rope parameters object: transformers' convert_rope_params_to_dict takes a legacy
 * rope_scaling (unless null or empty) over rope_parameters.
 */
export function ropeParameters(raw: RawConfig): RawConfig {
  const legacy = raw.rope_scaling;
  const chosen = legacy !== undefined && legacy !== null && !(typeof legacy === 'object' && Object.keys(legacy).length === 0) ? legacy : raw.rope_parameters;
  return (chosen ?? {}) as RawConfig;
}

/**
 * Rotary settings per layer, from rope_parameters (transformers ≥ 5, possibly keyed by
 * layer type as Gemma 3 writes them) or the older rope_theta / rope_scaling keys.
 */
export function rotary(raw: RawConfig, headDim: number, nLayers: number, o: RotaryOptions = {}): Pick<ModelConfig, 'positions' | 'rope'> {
  const params = ropeParameters(raw);
  if (typeof params !== 'object' || Array.isArray(params)) throw new Error('config.json: rope_parameters must be an object');
  const byType = Object.keys(params).some((k) => k === 'full_attention' || k === 'sliding_attention');
  const specs = new Map<string, RopeSpec>();
  const specFor = (type: LayerType): RopeSpec => {
    const key = byType ? type : '';
    if (!specs.has(key)) {
      const p = { ...((byType ? params[type] : params) as RawConfig) };
      if (typeof p !== 'object' || p === null) throw new Error(`config.json: rope_parameters has no entry for "${type}" layers`);
      if (p.rope_theta === undefined && (raw.rope_theta ?? raw.rotary_emb_base) !== undefined) p.rope_theta = raw.rope_theta ?? raw.rotary_emb_base;
      const partial = p.partial_rotary_factor ?? raw.partial_rotary_factor ?? raw.rotary_pct ?? o.defaultFactor ?? 1;
      if (typeof partial !== 'number' || !(partial > 0 && partial <= 1)) throw new Error(`config.json: partial_rotary_factor must be in (0, 1] (got ${preview(partial)})`);
      specs.set(
        key,
        ropeSpec({
          params: p,
          dim: o.dim ?? Math.trunc(headDim * partial),
          interleaved: o.interleaved ?? false,
          contextSize: num(raw, ['max_position_embeddings', 'n_positions'], 0),
          originalContext: typeof raw.original_max_position_embeddings === 'number' ? raw.original_max_position_embeddings : undefined,
        }),
      );
    }
    return specs.get(key)!;
  };
  const types = o.types ?? Array<LayerType>(nLayers).fill('full_attention');
  const rope = Array.from({ length: nLayers }, (_, l) => (o.skip?.(l) ? undefined : specFor(types[l])));
  for (const r of rope) if (r && r.dim > headDim) throw new Error(`config.json: ${r.dim} rotary channels exceed the head size ${headDim}`);
  return { positions: 'rotary', rope };
}
