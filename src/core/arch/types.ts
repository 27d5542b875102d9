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
  rotaryDim: number;
  ropeTheta: number;
  /** Multiplies token embeddings (Gemma: sqrt(d_model)). */
  embedScale: number;
  /** Softmax scale per layer (GPT-2's scale_attn_by_inverse_layer_idx varies it). */
  attnScale: number[];
  bosId?: number;
  eosId?: number;
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
  attnNorm: Norm;
  /** Absent for parallel blocks that share attnNorm (Phi). */
  mlpNorm?: Norm;
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
  parseConfig(raw: Record<string, unknown>): ModelConfig;
  convert(config: ModelConfig, raw: Record<string, unknown>, weights: WeightStore): CanonicalModel;
}
