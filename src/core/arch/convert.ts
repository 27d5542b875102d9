/** Weight-mapping helpers shared by the family converters. */
import type { WeightStore } from '../load/weights';
import { transpose2d, type HostTensor } from '../tensor';
import type { BlockWeights, CanonicalModel, Linear, ModelConfig, Norm } from './types';

const optional = (w: WeightStore, name: string): HostTensor | undefined => (w.has(name) ? w.get(name) : undefined);

/** A torch nn.Linear (weight [out, in]) turned into our [in, out] orientation. */
export function torchLinear(w: WeightStore, prefix: string): Linear {
  return { weight: transpose2d(w.get(`${prefix}.weight`)), bias: optional(w, `${prefix}.bias`) };
}

/** GPT-2's Conv1D already stores weight as [in, out]. */
export function conv1d(w: WeightStore, prefix: string): Linear {
  return { weight: w.get(`${prefix}.weight`), bias: optional(w, `${prefix}.bias`) };
}

export function normWeights(w: WeightStore, prefix: string): Norm {
  return { weight: w.get(`${prefix}.weight`), bias: optional(w, `${prefix}.bias`) };
}

/** Columns [start, end) of a [rows, cols] matrix. */
export function sliceCols(t: HostTensor, start: number, end: number): HostTensor {
  const [rows, cols] = t.shape;
  const width = end - start;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + start, r * cols + end), r * width);
  return { data: out, shape: [rows, width] };
}

/** Elements [start, end) of a vector. */
export function sliceVec(t: HostTensor, start: number, end: number): HostTensor {
  return { data: t.data.slice(start, end), shape: [end - start] };
}

/** Columns [start, end) of a fused projection, as its own Linear. */
export function linearPart(fused: Linear, start: number, end: number): Linear {
  return { weight: sliceCols(fused.weight, start, end), bias: fused.bias && sliceVec(fused.bias, start, end) };
}

/**
 * The output embedding: the tied input embedding, or the separate head an untied config
 * promises (missing, it is an error: transformers would start it from random weights).
 */
export function unembedding(w: WeightStore, tied: boolean, embed: HostTensor, head = 'lm_head'): Linear {
  if (!tied) return torchLinear(w, head);
  return { weight: transpose2d(embed), bias: optional(w, `${head}.bias`) };
}

/**
 * The GPT-2 layout's weights around a family's blocks (GPT-2, GPT-BigCode, GPT-Neo, GPT-J):
 * `{prefix}wte` embeddings, `{prefix}wpe` positions where the family learns them,
 * `{prefix}ln_f`, and the head (tied unless the config says otherwise, when `tiedByDefault`).
 */
export function gpt2Layout(w: WeightStore, cfg: ModelConfig, blocks: BlockWeights[], opts: { prefix: string; tied: boolean }): CanonicalModel {
  const embed = w.get(`${opts.prefix}wte.weight`);
  return {
    config: cfg,
    embed,
    positionEmbed: cfg.positions === 'learned' ? w.get(`${opts.prefix}wpe.weight`) : undefined,
    blocks,
    finalNorm: normWeights(w, `${opts.prefix}ln_f`),
    unembed: unembedding(w, opts.tied, embed),
  };
}
