/**
 * Hook names: the one naming scheme for every tensor the graph can expose, shared by
 * the graph builder, the runtime, the CLI and the extension. TransformerLens names
 * are accepted as aliases so exported activations drop into existing Python code.
 */

/**
 * Per-layer hooks. `mlp.out` is the down projection's output (bias included), before any
 * norm or multiplier that follows the FFN; `mlp.out_post` is what the FFN adds to the
 * residual stream (the same tensor where nothing follows it). `attn.out` is what the
 * attention branch adds to the residual stream.
 */
export type LayerHookKind = 'resid_pre' | 'resid_mid' | 'resid_post' | 'attn.out' | 'mlp.in' | 'mlp.coeff' | 'mlp.out' | 'mlp.out_post';

export const LAYER_HOOKS: readonly LayerHookKind[] = ['resid_pre', 'resid_mid', 'resid_post', 'attn.out', 'mlp.in', 'mlp.coeff', 'mlp.out', 'mlp.out_post'];

export const hookName = (layer: number, kind: LayerHookKind): string => `blocks.${layer}.${kind}`;

/**
 * Layer l's memory coefficients at or above a per-key floor, filtered in the graph:
 * float [n, 4] rows of (batch, position, key, coeff) in row-major order of the
 * coefficients (indices exact below 2^24). Computed only when fetched, with floors from
 * the run's `candidateFloors`; a gated model's graph also keeps the coefficients at or
 * below the run's `candidateCeilings` (signed trigger indexes). Not a [batch, seq, …] tensor, so not in LAYER_HOOKS:
 * patterns like `blocks.*.mlp.*` (activation export) never select it.
 */
export const candidateHook = (layer: number): string => `blocks.${layer}.mlp.candidates`;
export const isCandidateHook = (name: string): boolean => /^blocks\.\d+\.mlp\.candidates$/.test(name);

export const FINAL_NORM = 'final_norm';
export const LOGITS = 'logits';
/** Softmax top-k of the logits, computed in the graph: [batch, seq, min(PREDICTION_K, vocab)]. */
export const PREDICTION_PROBS = 'predictions.probs';
/** Token ids of PREDICTION_PROBS, as floats (exact below 2^24). */
export const PREDICTION_IDS = 'predictions.ids';
export const PREDICTION_K = 20;

export function allHookNames(nLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < nLayers; l++) for (const k of LAYER_HOOKS) names.push(hookName(l, k));
  names.push(FINAL_NORM, LOGITS, PREDICTION_PROBS, PREDICTION_IDS);
  return names;
}

const TL_ALIASES: Record<string, LayerHookKind> = {
  hook_resid_pre: 'resid_pre',
  hook_resid_mid: 'resid_mid',
  hook_resid_post: 'resid_post',
  hook_attn_out: 'attn.out',
  'ln2.hook_normalized': 'mlp.in',
  'mlp.hook_post': 'mlp.coeff',
  hook_mlp_out: 'mlp.out',
};

/** Maps a TransformerLens hook name to ours; other names pass through unchanged. */
export function canonicalHookName(name: string): string {
  if (name === 'ln_final.hook_normalized') return FINAL_NORM;
  const m = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (m && m[2] in TL_ALIASES) return hookName(Number(m[1]), TL_ALIASES[m[2]]);
  return name;
}

/**
 * Expands comma-separated patterns (`*` matches any run of characters, e.g.
 * `blocks.*.mlp.coeff`) against the hooks a model has. Unknown names are an error
 * that lists what exists, rather than an empty result.
 */
export function selectHooks(patterns: string, available: readonly string[]): string[] {
  const chosen = new Set<string>();
  for (const raw of patterns.split(',').map((p) => p.trim()).filter(Boolean)) {
    const p = canonicalHookName(raw);
    const re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    const hits = available.filter((h) => re.test(h));
    if (hits.length === 0) {
      throw new Error(`no hook matches "${raw}"; hooks are blocks.{layer}.{${LAYER_HOOKS.join(',')}}, ${FINAL_NORM}, ${LOGITS}, ${PREDICTION_PROBS}, ${PREDICTION_IDS}`);
    }
    hits.forEach((h) => chosen.add(h));
  }
  return available.filter((h) => chosen.has(h));
}
