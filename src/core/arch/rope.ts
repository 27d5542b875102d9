/**
 * Rotary embeddings as transformers 5.x computes them (modeling_rope_utils): the rope
 * types default, linear, dynamic, yarn, llama3 and longrope, with their parameters read
 * from `rope_parameters` (or the older `rope_scaling` / `rope_theta`), per layer type
 * where a config keys them so (Gemma 3). Every step rounds to fp32 where torch does, so
 * the angles, and hence the outputs, match to the last bit or two.
 */
import { preview, type RawConfig } from './raw';
import type { RopeSpec } from './types';

const f = Math.fround;

/** What a config says about one rotary embedding. */
export interface RopeSettings {
  params: RawConfig;
  /** Channels rotated per head. */
  dim: number;
  interleaved: boolean;
  /** max_position_embeddings: where dynamic scaling starts. */
  contextSize: number;
  /** original_max_position_embeddings outside rope_parameters (Phi-3 keeps it at the top level); it wins over the one inside. */
  originalContext?: number;
}

/** Keys of rope_parameters each rope type reads; any other key is refused, not ignored. */
const ROPE_KEYS: Record<string, string[]> = {
  default: [],
  linear: ['factor'],
  // transformers' dynamic NTK reads no original context (it scales past max_position_embeddings)
  dynamic: ['factor', 'original_max_position_embeddings'],
  llama3: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
  yarn: ['factor', 'original_max_position_embeddings', 'attention_factor', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim', 'truncate'],
  longrope: ['factor', 'original_max_position_embeddings', 'attention_factor', 'short_factor', 'long_factor'],
};
const COMMON_KEYS = ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor'];

function number(params: RawConfig, key: string, fallback?: number): number {
  const v = params[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`config.json: rope_parameters.${key} must be a number (got ${preview(params[key])})`);
  return v;
}

function positiveNumber(params: RawConfig, key: string, fallback?: number): number {
  const v = number(params, key, fallback);
  if (!(v > 0)) throw new Error(`config.json: rope_parameters.${key} must be positive (got ${v})`);
  return v;
}

/**
 * The pre-training context of llama3, yarn and longrope: transformers' standardize_rope_params
 * gives a top-level original_max_position_embeddings (Phi-3's) priority over the one in
 * rope_parameters, and falls back to max_position_embeddings.
 */
function originalContext(p: RawConfig, s: RopeSettings): number {
  if (s.originalContext === undefined) return positiveNumber(p, 'original_max_position_embeddings', s.contextSize);
  if (!(s.originalContext > 0)) throw new Error(`config.json: original_max_position_embeddings must be positive (got ${s.originalContext})`);
  return s.originalContext;
}

/** 1 / theta^(2i/dim) for i < dim/2, in torch's fp32 steps. */
function defaultInvFreq(theta: number, dim: number): Float32Array {
  return Float32Array.from({ length: dim / 2 }, (_, i) => f(1 / f(f(theta) ** f((2 * i) / dim))));
}

function llama3(inv: Float32Array, p: RawConfig, s: RopeSettings): Float32Array {
  const factor = positiveNumber(p, 'factor');
  const low = positiveNumber(p, 'low_freq_factor');
  const high = positiveNumber(p, 'high_freq_factor');
  const old = originalContext(p, s);
  if (!(high > low)) throw new Error(`config.json: rope_parameters.high_freq_factor (${high}) must exceed low_freq_factor (${low})`);
  const lowWavelen = old / low;
  const highWavelen = old / high;
  return inv.map((v) => {
    const wavelen = f((2 * Math.PI) / v);
    const scaled = wavelen > lowWavelen ? f(v / factor) : v;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = f(f(f(old / wavelen) - low) / (high - low));
    return f(f(f(1 - smooth) * f(scaled / factor)) + f(smooth * scaled));
  });
}

/** YaRN's attention factor from mscale (DeepSeek-style configs carry mscale / mscale_all_dim). */
function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

function yarn(theta: number, dim: number, p: RawConfig, s: RopeSettings): { invFreq: Float32Array; attentionFactor: number } {
  const original = originalContext(p, s);
  // without a factor, transformers takes the ratio of the two context sizes (DeepSeek-V3's configs)
  const factor = p.factor === undefined || p.factor === null ? s.contextSize / original : positiveNumber(p, 'factor');
  const mscale = p.mscale as number | undefined;
  const mscaleAllDim = p.mscale_all_dim as number | undefined;
  const attentionFactor =
    p.attention_factor !== undefined && p.attention_factor !== null
      ? number(p, 'attention_factor')
      : mscale && mscaleAllDim
        ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim)
        : yarnMscale(factor);
  const betaFast = (p.beta_fast as number | undefined) || 32;
  const betaSlow = (p.beta_slow as number | undefined) || 1;
  const truncate = p.truncate === undefined ? true : Boolean(p.truncate);
  const correctionDim = (rotations: number) => (dim * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  const invFreq = Float32Array.from({ length: dim / 2 }, (_, i) => {
    const pos = f(f(theta) ** f((2 * i) / dim));
    const extrapolation = f(1 / pos);
    const interpolation = f(1 / f(factor * pos));
    const ramp = Math.min(1, Math.max(0, f(f(i - low) / f(high - low))));
    const extrapolationFactor = f(1 - ramp);
    return f(f(interpolation * f(1 - extrapolationFactor)) + f(extrapolation * extrapolationFactor));
  });
  return { invFreq, attentionFactor };
}

function longrope(theta: number, dim: number, p: RawConfig, s: RopeSettings): RopeSpec['long'] & { short: Float32Array } {
  const original = originalContext(p, s);
  const factors = (key: string): number[] => {
    const v = p[key];
    if (!Array.isArray(v) || v.length !== dim / 2 || !v.every((x) => typeof x === 'number' && x > 0)) {
      throw new Error(`config.json: rope_parameters.${key} must list ${dim / 2} positive numbers`);
    }
    return v;
  };
  // without a factor, transformers takes the ratio of the two context sizes (Phi-3's 128k configs)
  const factor = p.factor === undefined || p.factor === null ? s.contextSize / original : positiveNumber(p, 'factor');
  const attentionFactor =
    p.attention_factor !== undefined && p.attention_factor !== null ? number(p, 'attention_factor') : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  const scaled = (ext: number[]) => Float32Array.from({ length: dim / 2 }, (_, i) => f(1 / f(f(ext[i]) * f(f(theta) ** f((2 * i) / dim)))));
  return { short: scaled(factors('short_factor')), invFreq: scaled(factors('long_factor')), attentionFactor, longAfter: original };
}

/** The rotary embedding one set of rope parameters describes. */
export function ropeSpec(s: RopeSettings): RopeSpec {
  const p = s.params;
  const type = String(p.rope_type ?? p.type ?? 'default');
  const allowed = ROPE_KEYS[type];
  if (!allowed) throw new Error(`config.json: rope type "${type}" is not supported (supported: ${Object.keys(ROPE_KEYS).join(', ')})`);
  for (const key of Object.keys(p)) {
    if (!allowed.includes(key) && !COMMON_KEYS.includes(key)) throw new Error(`config.json: rope_parameters.${key} (${preview(p[key])}) is not implemented for rope type "${type}"`);
  }
  if (!(Number.isInteger(s.dim) && s.dim >= 2 && s.dim % 2 === 0)) throw new Error(`config.json: the rotary dimension must be a positive even integer (got ${s.dim})`);
  const theta = positiveNumber(p, 'rope_theta', 10000);
  const base = { dim: s.dim, interleaved: s.interleaved, attentionFactor: 1 };
  switch (type) {
    case 'linear':
      return { ...base, invFreq: defaultInvFreq(theta, s.dim).map((v) => f(v / positiveNumber(p, 'factor'))) };
    case 'dynamic':
      // the default rope up to max_position_embeddings; past it the graph rescales per length
      if (!(s.contextSize > 0)) throw new Error('config.json: dynamic rope scales past max_position_embeddings, which the config does not give');
      if (s.dim === 2) throw new Error('config.json: dynamic rope needs more than 2 rotary channels (its base exponent is dim / (dim − 2))');
      return { ...base, invFreq: defaultInvFreq(theta, s.dim), dynamic: { theta, factor: positiveNumber(p, 'factor'), after: s.contextSize } };
    case 'llama3':
      return { ...base, invFreq: llama3(defaultInvFreq(theta, s.dim), p, s) };
    case 'yarn':
      return { ...base, ...yarn(theta, s.dim, p, s) };
    case 'longrope': {
      const { short, ...long } = longrope(theta, s.dim, p, s);
      return { ...base, invFreq: short, attentionFactor: long.attentionFactor, long };
    }
    default:
      return { ...base, invFreq: defaultInvFreq(theta, s.dim) };
  }
}
