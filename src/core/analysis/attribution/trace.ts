/**
 * What attribution needs from one forward pass at one position: the residual stream's
 * parts (embeddings, each attention and FFN output), the memory coefficients and the
 * model's own logits. Traced once per position; every target and contrast is then
 * scored from it without running the model again.
 */
import { hookName, LOGITS } from '../../hooks';
import type { Model } from '../../model';
import type { HookTensor } from '../../runtime/session';
import { AttributionError } from './errors';

export type ComponentKind = 'embed' | 'pos' | 'attn' | 'mlp';

/** One additive part of the residual stream entering the final norm. */
export interface TracedComponent {
  name: string;
  kind: ComponentKind;
  /** null for the embeddings. */
  layer: number | null;
  vector: Float32Array;
}

export interface PositionTrace {
  ids: number[];
  position: number;
  /** The residual stream entering the final norm at the position. */
  resid: Float32Array;
  /** Sum to `resid` (checked when traced). */
  components: TracedComponent[];
  /** Memory coefficients per layer at the position, [dFf] each. */
  coeffs: Float32Array[];
  /** The FFN's down-projection output per layer at the position (before a norm or multiplier that follows it). */
  ffnOut: Float32Array[];
  /** The model's logits at the position, [vocab]. */
  logits: Float32Array;
}

export function checkPosition(ids: readonly number[], position: number): void {
  if (!(Number.isInteger(position) && position >= 0 && position < ids.length)) throw new AttributionError(`position ${position} is outside 0..${ids.length - 1}`);
}

export const rowOf = (t: HookTensor, position: number): Float32Array => {
  const d = t.dims[t.dims.length - 1];
  return t.data.slice(position * d, (position + 1) * d);
};

/** The hooks a trace reads: the residual's parts, the coefficients, the logits. */
function traceHooks(nLayers: number): string[] {
  const hooks = [hookName(0, 'resid_pre'), hookName(nLayers - 1, 'resid_post'), LOGITS];
  for (let l = 0; l < nLayers; l++) hooks.push(hookName(l, 'attn.out'), hookName(l, 'mlp.out'), hookName(l, 'mlp.out_post'), hookName(l, 'mlp.coeff'));
  return hooks;
}

/**
 * One forward pass of `ids` with every hook attribution reads, so any of its positions can
 * be traced without running the model again (a panel or hover moving along a text).
 */
export class SequenceTrace {
  private constructor(
    private readonly model: Model,
    readonly ids: number[],
    private readonly out: Map<string, HookTensor>,
  ) {}

  static async run(model: Model, ids: number[]): Promise<SequenceTrace> {
    return new SequenceTrace(model, ids, await model.run([ids], traceHooks(model.config.nLayers)));
  }

  /**
   * What attribution reads at `position`. Refuses (naming the family) a model whose residual
   * stream is not the sum of its embeddings and branch outputs — a norm or multiplier after
   * a branch that attribution does not model yet — instead of returning scores that do not
   * add up.
   */
  at(position: number): PositionTrace {
    const { model, ids, out } = this;
    checkPosition(ids, position);
    const L = model.config.nLayers;
    const at = (name: string) => rowOf(out.get(name)!, position);
    const components: TracedComponent[] = [...embeddingComponents(model, ids[position], at(hookName(0, 'resid_pre')))];
    for (let l = 0; l < L; l++) {
      components.push({ name: `L${l}.attn`, kind: 'attn', layer: l, vector: at(hookName(l, 'attn.out')) });
      // what each branch adds to the residual: through the norm and multiplier that follow it, where the family has them
      components.push({ name: `L${l}.mlp`, kind: 'mlp', layer: l, vector: at(hookName(l, 'mlp.out_post')) });
    }
    const trace: PositionTrace = {
      ids,
      position,
      resid: at(hookName(L - 1, 'resid_post')),
      components,
      coeffs: Array.from({ length: L }, (_, l) => at(hookName(l, 'mlp.coeff'))),
      ffnOut: Array.from({ length: L }, (_, l) => at(hookName(l, 'mlp.out'))),
      logits: at(LOGITS),
    };
    checkDecomposition(model, trace);
    return trace;
  }
}

/** Runs `ids` once and keeps what attribution reads at `position` (see SequenceTrace.at). */
export async function tracePosition(model: Model, ids: number[], position: number): Promise<PositionTrace> {
  checkPosition(ids, position);
  return (await SequenceTrace.run(model, ids)).at(position);
}

/**
 * The token embedding (scaled as the family scales it) and, for learned positions, the
 * position embedding as what the first block's input holds beyond the token's row.
 */
function embeddingComponents(model: Model, id: number, residPre0: Float32Array): TracedComponent[] {
  const row = model.embeddingRow(id);
  const d = model.config.dModel;
  const scale = model.config.embedScale;
  const token = new Float32Array(d);
  for (let j = 0; j < d; j++) token[j] = Math.fround(row[j] * scale);
  if (model.config.positions !== 'learned') return [{ name: 'embed', kind: 'embed', layer: null, vector: residPre0 }];
  const pos = new Float32Array(d);
  for (let j = 0; j < d; j++) pos[j] = residPre0[j] - token[j];
  return [
    { name: 'embed', kind: 'embed', layer: null, vector: token },
    { name: 'pos_embed', kind: 'pos', layer: null, vector: pos },
  ];
}

/** Relative tolerance of the exactness checks: fp32 sums of a few dozen vectors. */
export const EXACT_RTOL = 1e-4;

/** Refuses a trace whose components do not add up to the residual (exported for tests). */
export function checkDecomposition(model: Model, trace: PositionTrace): void {
  const d = model.config.dModel;
  let worst = 0;
  let scale = 0;
  for (let j = 0; j < d; j++) {
    let sum = 0;
    let mag = 0;
    for (const c of trace.components) {
      sum += c.vector[j];
      mag += Math.abs(c.vector[j]);
    }
    worst = Math.max(worst, Math.abs(sum - trace.resid[j]));
    scale = Math.max(scale, mag);
  }
  if (worst > EXACT_RTOL * scale + 1e-5) {
    throw new AttributionError(
      `attribution cannot decompose ${model.info.family} (${model.info.modelType}) exactly yet: its residual stream is not the sum of the embeddings, attention and FFN outputs ` +
        `(off by ${worst.toExponential(2)} at position ${trace.position}); what it adds between them needs a rule in src/core/analysis/attribution/readout.ts`,
    );
  }
}
