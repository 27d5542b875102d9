/**
 * The canonical model every architecture family converts its checkpoint into, in the
 * spirit of TransformerLens: one normalised config and weights in one orientation,
 * so a single graph builder serves every family.
 */
import type { HostTensor } from '../tensor';
import type { WeightStore } from '../load/weights';

export type Activation = 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

export interface ModelConfig {
  family: string;
  /** model_type as written in config.json. */
  modelType: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Memories per layer: rows of the key matrix. */
  dFf: number;
  vocabSize: number;
  contextSize: number;
  norm: 'layer' | 'rms';
  normEps: number;
  act: Activation;
  /** f(x·K_g)·(x·K_u) instead of f(x·K). */
  gated: boolean;
  /** Attention and FFN read the same input and add to the residual together (GPT-NeoX, Phi). */
  parallel: boolean;
  positions: 'learned' | 'rotary';
  /** Learned position tables start at this row (OPT reserves 2). */
  positionOffset: number;
  /** Rotary embedding per layer; undefined where a layer has none (SmolLM3's no_rope_layers). Empty unless positions is 'rotary'. */
  rope: (RopeSpec | undefined)[];
  /** Multiplies token embeddings (Gemma: sqrt(d_model), Granite: embedding_multiplier). */
  embedScale: number;
  /** Softmax scale per layer (GPT-2's scale_attn_by_inverse_layer_idx varies it). */
  attnScale: number[];
  /** Per layer: a query sees itself and at most window − 1 tokens before it; 0 = every earlier token. */
  attnWindow: number[];
  /** cap·tanh(s / cap) on the attention scores (Gemma 2); 0 = none. */
  attnSoftcap: number;
  /** cap·tanh(logits / cap) on the output logits (Gemma 2); 0 = none. */
  finalSoftcap: number;
  /** Divides the logits (Granite: logits_scaling). */
  logitDivisor: number;
  /** Multiplies each branch's output before it joins the residual stream (Granite: residual_multiplier). */
  residualScale: number;
  /** RMS norms on queries and keys: per head (Qwen3, Gemma 3) or over the whole projection (OLMo 2). */
  qkNorm: 'none' | 'head' | 'projection';
  bosId?: number;
  eosId?: number;
}

/**
 * A rotary embedding as transformers computes it (modeling_rope_utils): the inverse
 * frequencies of the `dim` rotated channels, and the factor cos and sin are scaled by.
 */
export interface RopeSpec {
  /** Channels rotated per head (partial rotary rotates the first `dim`). */
  dim: number;
  /** GPT-J rotates channel pairs (0,1), (2,3)…; the others (0, dim/2), (1, dim/2+1)… */
  interleaved: boolean;
  invFreq: Float32Array;
  attentionFactor: number;
  /** LongRoPE: these frequencies (and factor) replace the others for sequences longer than `longAfter` tokens. */
  long?: { invFreq: Float32Array; attentionFactor: number; longAfter: number };
  /**
   * Dynamic NTK: for a sequence of T > `after` tokens the base becomes
   * theta·(factor·T/after − (factor − 1))^(dim/(dim − 2)), so these frequencies depend on T
   * and are computed per run; within `after` tokens they are `invFreq`.
   */
  dynamic?: { theta: number; factor: number; after: number };
}

/** y = x·W + b with W stored [in, out]. */
export interface Linear {
  weight: HostTensor;
  bias?: HostTensor;
}

export interface Norm {
  weight: HostTensor;
  bias?: HostTensor;
}

export interface BlockWeights {
  /** Absent where the block has no norm before attention (OLMo 2 normalises the branch output instead). */
  attnNorm?: Norm;
  /** Absent for parallel blocks that share attnNorm (Phi) and for OLMo 2. */
  mlpNorm?: Norm;
  /** Norms on the attention / FFN output before the residual add (Gemma 2/3 sandwich norms, OLMo 2). */
  attnPostNorm?: Norm;
  mlpPostNorm?: Norm;
  /** q/k RMS norm gains: [headDim] per head, or the projection's width (see ModelConfig.qkNorm). */
  qNorm?: Norm;
  kNorm?: Norm;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  /** Keys: x·up.weight; row i of upᵀ is key i. */
  up: Linear;
  gate?: Linear;
  /** Values: down.weight is [d_ff, d_model], row i is memory i's value vector. */
  down: Linear;
}

export interface CanonicalModel {
  config: ModelConfig;
  embed: HostTensor;
  positionEmbed?: HostTensor;
  blocks: BlockWeights[];
  finalNorm: Norm;
  /** [d_model, vocab] plus optional bias. */
  unembed: Linear;
}

/** One architecture family: reads its config.json and maps its weight names. */
export interface ArchFamily {
  name: string;
  /** model_type values this family handles. */
  modelTypes: string[];
  /** config.json fields this family's reader implements, per model_type (see fields.ts). */
  fields: Record<string, readonly string[]>;
  /**
   * transformers' config-class defaults that change the forward pass, per model_type: what a
   * config.json that omits the field means (Mistral without sliding_window slides over 4096).
   */
  defaults?: Record<string, Record<string, unknown>>;
  parseConfig(raw: Record<string, unknown>): ModelConfig;
  convert(config: ModelConfig, raw: Record<string, unknown>, weights: WeightStore): CanonicalModel;
}
