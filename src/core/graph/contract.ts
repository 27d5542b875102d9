/**
 * The I/O contract of the instrumented forward graph: the input names every builder
 * declares and the runtime feeds, and the facts the runtime needs beside the ONNX bytes.
 * Builders, the runtime and the graph cache all import it, so none of them reaches into
 * another's files. Hook (output) names live in ../hooks.ts.
 */

export const INPUT_IDS = 'input_ids';
/**
 * Bool scalars: keep the whole logits (the LOGITS hook, [batch, seq, vocab]) / compute the
 * prediction hooks in this run. Either runs the vocabulary projection; predictions alone
 * hold only a bounded step of the logits at a time.
 */
export const WANT_LOGITS = 'want_logits';
export const WANT_PREDICTIONS = 'want_predictions';
/** Bool scalar: compute the candidate hooks (blocks.{l}.mlp.candidates) in this run. */
export const WANT_CANDIDATES = 'want_candidates';
/** Float per-key floors of layer l's candidates, [dFf] or [1] (broadcast over the keys). */
export const candidateFloorInput = (layer: number): string => `blocks.${layer}.mlp.candidate_floor`;
/**
 * Gated FFNs only (signed trigger indexes): float per-key ceilings of layer l, [dFf] or [1];
 * a coefficient at or below its key's ceiling is a candidate too.
 */
export const candidateCeilingInput = (layer: number): string => `blocks.${layer}.mlp.candidate_ceiling`;

/** Graph inputs through which callers patch memory coefficients of one layer. */
export const patchInputs = (layer: number) => ({
  /** [n, 3] int64 rows of (batch, position, key). */
  index: `blocks.${layer}.mlp.patch_index`,
  /** [n]: the patched coefficient is coeff · scale + shift. */
  scale: `blocks.${layer}.mlp.patch_scale`,
  shift: `blocks.${layer}.mlp.patch_shift`,
});

/** What the runtime must know of a built graph beyond its ONNX bytes. */
export interface GraphInfo {
  /** Number of FFN patch-input triples (0 for graphs that are not transformers). */
  nLayers: number;
  /** Hook name → graph output carrying the same tensor (see GraphBuilder.hook). */
  aliases: Record<string, string>;
}
