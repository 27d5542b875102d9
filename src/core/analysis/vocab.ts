/**
 * Projection of d_model vectors into the vocabulary (logit lens): p = softmax(x·E), or
 * softmax(norm(x)·E) through the final norm. Runs as a small onnxruntime graph of its
 * own, built on first use, so decoding thousands of value vectors is one batched call.
 *
 * E is a graph input, not an initializer: onnxruntime reads the host array in place, so
 * every lens graph (both modes, ranks) shares one copy of it instead of holding its own
 * (1 GB each at Llama 3's 128k × 2048), and the graphs stay a few KB to build. It is held
 * as Eᵀ, one row per token, so a range of tokens is a view of the array: the streamed
 * value table feeds each chunk of the vocabulary without copying it (slicing columns of
 * E in the graph was a strided copy that took a third of the table's time).
 */
import { norm as normBlock } from '../graph/blocks';
import { GraphBuilder } from '../graph/builder';
import type { Model } from '../model';
import { DataType } from '../onnx/model';
import type { Feed, ModelSession } from '../runtime/session';
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
const UNEMBED = 'unembed';
const UNEMBED_BIAS = 'unembed.bias';

/**
 * Rows per onnxruntime call for a vocabulary: each call holds a few [rows, vocab] fp32
 * buffers (scores, probabilities), so bound rows × vocab (2^26 scores, 256 MB each) rather
 * than the rows: 256k-token vocabularies get 256-row calls, GPT-2's still 1024.
 */
export function rowsPerCall(vocabSize: number): number {
  return Math.max(16, Math.min(1024, Math.floor(2 ** 26 / vocabSize)));
}

/** How a d_model vector is read in the vocabulary: x·E as is, or norm(x)·E through the final norm. */
export type LensMode = 'raw' | 'normed';

/** Eᵀ [vocab, d_model] and the unembedding bias [vocab], if any. */
export interface TokenRows {
  rows: HostTensor;
  bias?: HostTensor;
}

const unembeds = new WeakMap<Model, TokenRows>();

/** Eᵀ of a model, read once and kept while the model lives: every lens graph is fed this one array, and host-side readings use it too. */
export function tokenRowsOf(model: Model): TokenRows {
  let u = unembeds.get(model);
  if (!u) unembeds.set(model, (u = model.unembedRows()));
  return u;
}

/** The unembedding a lens graph scores against: Eᵀ rows [tokens, d_model] and an optional bias [tokens]. */
export interface UnembedTensors {
  rows: string;
  bias?: string;
}

/** Eᵀ (and the bias) as graph inputs, fed by reference (unembedFeed). */
function unembedInputs(g: GraphBuilder, model: Model): UnembedTensors {
  const rows = g.input(UNEMBED, DataType.FLOAT, ['tokens', model.config.dModel]);
  return { rows, bias: tokenRowsOf(model).bias ? g.input(UNEMBED_BIAS, DataType.FLOAT, ['tokens']) : undefined };
}

/**
 * Vocabulary scores (logits) of the rows of `x` under `mode`: the part every lens graph
 * shares. The tokens scored are `unembed`'s rows: by default graph inputs, fed the whole
 * vocabulary or a range of it (unembedFeed's `tokens`).
 */
export function vocabScores(g: GraphBuilder, model: Model, x: string, mode: LensMode, unembed: UnembedTensors = unembedInputs(g, model)): string {
  const input = mode === 'raw' ? x : normBlock(g, model.config, x, model.finalNorm(), 'final_norm');
  return g.op('Gemm', [input, unembed.rows, ...(unembed.bias ? [unembed.bias] : [])], { transB: 1 });
}

/**
 * The feeds vocabScores' graphs need besides their own inputs: Eᵀ (and the bias) itself,
 * passed by reference, or the views of tokens [start, end) of it.
 */
export function unembedFeed(model: Model, tokens?: { start: number; end: number }): Record<string, Feed> {
  const { rows, bias } = tokenRowsOf(model);
  const [V, d] = rows.shape;
  const { start, end } = tokens ?? { start: 0, end: V };
  const feeds: Record<string, Feed> = { [UNEMBED]: { data: rows.data.subarray(start * d, end * d), shape: [end - start, d] } };
  if (bias) feeds[UNEMBED_BIAS] = { data: bias.data.subarray(start, end), shape: [end - start] };
  return feeds;
}

/** Runs `call` on consecutive row ranges of at most rowsPerCall(vocab) rows, in order. */
export async function inRowChunks(model: Model, n: number, call: (start: number, end: number) => Promise<void>): Promise<void> {
  const step = rowsPerCall(model.config.vocabSize);
  for (let s = 0; s < n; s += step) await call(s, Math.min(n, s + step));
}

/** One graph per mode: onnxruntime runs every node of a graph whatever is fetched. */
function projectionGraph(model: Model, mode: LensMode): GraphBuilder {
  const g = new GraphBuilder('ffn-lens:vocab');
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
    return this.model.analysisSession(`vocab-${mode}`, () => projectionGraph(this.model, mode));
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
    const session = await this.session(mode);
    const sides = opts.bottom ? ['top', 'bottom'] : ['top'];
    const outputs = sides.flatMap((side) => [`${mode}.${side}.probs`, `${mode}.${side}.ids`]);
    const result = new Map(sides.map((side): [string, VocabTop] => [side, { ids: new Int32Array(n * k), probs: new Float32Array(n * k), k }]));
    const feeds = { ...unembedFeed(this.model), [K_INPUT]: BigInt64Array.of(BigInt(k)) };
    await inRowChunks(this.model, n, async (start, end) => {
      const rows = { data: x.data.subarray(start * dModel, end * dModel), shape: [end - start, dModel] };
      const out = await session.runFeeds({ ...feeds, [INPUT]: rows }, outputs);
      for (const side of sides) {
        const r = result.get(side)!;
        r.ids.set(out.get(`${mode}.${side}.ids`)!.data, start * k);
        r.probs.set(out.get(`${mode}.${side}.probs`)!.data, start * k);
      }
    });
    const top = result.get('top')!;
    const maxProb = new Float32Array(n);
    for (let i = 0; i < n; i++) maxProb[i] = top.probs[i * k];
    return { top, bottom: result.get('bottom'), maxProb };
  }
}
