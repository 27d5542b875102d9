/**
 * Projection of d_model vectors into the vocabulary (logit lens): p = softmax(x·E), or
 * softmax(norm(x)·E) through the final norm. Runs as a small onnxruntime graph of its
 * own, built on first use, so decoding thousands of value vectors is one batched call.
 */
import { norm as normBlock } from '../graph/blocks';
import { GraphBuilder, type BuilderOptions } from '../graph/builder';
import type { Model } from '../model';
import { DataType } from '../onnx/model';
import type { ModelSession } from '../runtime/session';
import type { HostTensor } from '../tensor';

export interface VocabTop {
  ids: Int32Array;
  probs: Float32Array;
  /** k per row. */
  k: number;
}

export interface Projection {
  top: VocabTop;
  bottom?: VocabTop;
  /** Largest probability per row. */
  maxProb: Float32Array;
}

const INPUT = 'x';
const K_INPUT = 'k';

/** How a d_model vector is read in the vocabulary: x·E as is, or norm(x)·E through the final norm. */
export type LensMode = 'raw' | 'normed';

/** Vocabulary scores (logits) of the rows of `x` under `mode`: the part every lens graph shares. */
export function vocabScores(g: GraphBuilder, model: Model, x: string, mode: LensMode): string {
  const unembed = model.unembed();
  const input = mode === 'raw' ? x : normBlock(g, model.config, x, model.finalNorm(), 'final_norm');
  const scores = g.op('MatMul', [input, g.weight('unembed.weight', unembed.weight)]);
  return unembed.bias ? g.op('Add', [scores, g.weight('unembed.bias', unembed.bias)]) : scores;
}

/** One graph per mode: onnxruntime runs every node of a graph whatever is fetched. */
function projectionGraph(model: Model, mode: LensMode, opts: BuilderOptions): GraphBuilder {
  const g = new GraphBuilder('ffn-lens:vocab', undefined, opts);
  const x = g.input(INPUT, DataType.FLOAT, ['n', model.config.dModel]);
  const k = g.input(K_INPUT, DataType.INT64, [1]);
  const scores = vocabScores(g, model, x, mode);
  const probs = g.op('Softmax', [scores], { axis: -1 });
  for (const largest of [1, 0]) {
    const [p, ids] = g.opMulti('TopK', [probs, k], 2, { axis: -1, largest, sorted: 1 });
    const side = largest ? 'top' : 'bottom';
    g.hook(`${mode}.${side}.probs`, p);
    g.hook(`${mode}.${side}.ids`, g.op('Cast', [ids], { to: DataType.FLOAT }));
  }
  return g;
}

const projectors = new WeakMap<Model, Promise<VocabProjector>>();

export class VocabProjector {
  private constructor(private readonly model: Model) {}

  /** The projector of a model, created once per model; each mode's session on first use. */
  static for(model: Model): Promise<VocabProjector> {
    let p = projectors.get(model);
    if (!p) {
      p = Promise.resolve(new VocabProjector(model));
      projectors.set(model, p);
    }
    return p;
  }

  /** The model owns the session (and releases it with itself). */
  private session(mode: LensMode): Promise<ModelSession> {
    return this.model.analysisSession(`vocab-${mode}`, (opts) => projectionGraph(this.model, mode, opts));
  }

  /**
   * Top-k (and optionally bottom-k) tokens of softmax(x·E) for each row of `x` ([n, d]).
   * `finalNorm` applies the model's final norm first.
   */
  async project(x: HostTensor, k: number, opts: { finalNorm?: boolean; bottom?: boolean } = {}): Promise<Projection> {
    const n = x.shape[0];
    const dModel = this.model.config.dModel;
    if (x.shape[1] !== dModel) throw new Error(`vocab projection: rows have ${x.shape[1]} values, the model has d_model ${dModel}`);
    const mode = opts.finalNorm ? 'normed' : 'raw';
    const outputs = [`${mode}.top.probs`, `${mode}.top.ids`, ...(opts.bottom ? [`${mode}.bottom.probs`, `${mode}.bottom.ids`] : [])];
    const out = await (await this.session(mode)).runFeeds({ [INPUT]: x, [K_INPUT]: BigInt64Array.of(BigInt(k)) }, outputs);
    const pick = (side: string): VocabTop => ({
      ids: Int32Array.from(out.get(`${mode}.${side}.ids`)!.data),
      probs: out.get(`${mode}.${side}.probs`)!.data,
      k,
    });
    const top = pick('top');
    const maxProb = new Float32Array(n);
    for (let i = 0; i < n; i++) maxProb[i] = top.probs[i * k];
    return { top, bottom: opts.bottom ? pick('bottom') : undefined, maxProb };
  }
}
